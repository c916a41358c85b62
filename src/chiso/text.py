"""Text helpers shared by every room: folding Vietnamese for search, normalising whitespace,
and messages a page can say in the reader's language (:class:`Said`)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Lower-case, drop tone marks and diacritics, map đ to d, collapse spaces.

    "Phường Hà Đông" -> "phuong ha dong". Used for every look-up that a person types.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = _NON_WORD.sub(" ", bare.lower())
    return _SPACE.sub(" ", bare).strip()


# The Vietnamese alphabet's order (with f, j, w, z for borrowed words): ă after a, â after ă,
# đ after d, ê after e, ô and ơ after o, ư after u.
_LETTERS = {ch: i for i, ch in enumerate(
    ["a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m", "n",
     "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z"])}
# tones, in the order dictionaries give them: level, huyền, hỏi, ngã, sắc, nặng
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vi_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A sort key in Vietnamese dictionary order: letters first (ă, â after a; đ after d; ê
    after e; ô, ơ after o; ư after u), then tones (level, huyền, hỏi, ngã, sắc, nặng); a
    character outside the alphabet (a space, a digit) sorts before every letter, by its code:
    "Xã Đa Phúc" after "Xã Dương Hòa", "Xã Ô Diên" before "Xã Uy Nỗ"."""
    letters: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFC", text.lower()):
        parts = unicodedata.normalize("NFD", ch)
        tone = next((_TONES[m] for m in parts[1:] if m in _TONES), 0)
        bare = unicodedata.normalize("NFC", "".join(m for m in parts if m not in _TONES))
        letters.append(100 + _LETTERS[bare] if bare in _LETTERS else min(ord(bare[0]), 99))
        tones.append(tone)
    return tuple(letters), tuple(tones)


def squash(text: str) -> str:
    """Collapse runs of white space (tabs and newlines included) into one space."""
    return _SPACE.sub(" ", text).strip()


def nfc(text: str) -> str:
    """The canonical composed form: seeds and typed text may mix NFC and NFD."""
    return unicodedata.normalize("NFC", text)


class Said(str):
    """A message for a person, in English, that carries its template and its parts, so that a
    page can say it in the reader's language: the interface's message catalogue translates
    ``template`` (English, with ``%(name)s`` parts) and the parts are filled in after; ``vi``
    is the Vietnamese template when it comes with the data (a contract's rule) rather than
    from the catalogue. Everywhere else (JSON, logs, comparisons) it is the English text."""

    template: str
    params: dict[str, object]
    vi: str | None

    def __new__(cls, template: str, vi: str | None = None, /, **params: object) -> Said:
        said = super().__new__(cls, template % params if params else template)
        said.template, said.params, said.vi = template, params, vi
        return said


MAX_JSON_DEPTH = 32  # no record, form field or cookie of ours nests deeper


def read_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON that came from outside (a request body, a form field, a cookie, a source's
    answer). Whatever cannot be read, malformed, not UTF-8, nested deeper than
    ``max_depth``, an integer longer than Python will convert, raises ``ValueError`` with a
    one-line reason, never anything else, so every door answers it with a 4xx."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"the JSON is nested deeper than {max_depth} levels") from None
    if _depth(value) > max_depth:
        raise ValueError(f"the JSON is nested deeper than {max_depth} levels")
    return value


def _depth(value: Any) -> int:
    """How many containers deep ``value`` nests (a scalar: 0), walking containers only."""
    if not isinstance(value, dict | list):
        return 0
    deepest, stack = 1, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest
