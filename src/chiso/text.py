"""Vietnamese text helpers shared by every room: folding for search, whitespace normalising."""

from __future__ import annotations

import re
import unicodedata

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


def squash(text: str) -> str:
    """Collapse runs of white space (tabs and newlines included) into one space."""
    return _SPACE.sub(" ", text).strip()


def nfc(text: str) -> str:
    """The canonical composed form: seeds and typed text may mix NFC and NFD."""
    return unicodedata.normalize("NFC", text)
