"""The likely contract field for a column heading the contract does not list.

Headings and the contract's headers (and field names) are folded (no tone marks, lower case,
punctuation as space; ``chiso.text.fold``), then compared with rapidfuzz: the ratio of the
words in sorted order (so another word order scores as the same label) and the plain ratio
(a longer or shorter wording), each also against the header's abbreviated forms, where
any run of two or more words is written as its initials ("Ngày TN" for "Ngày tiếp nhận", "Mã
TTHC" for "Mã thủ tục hành chính"); a heading holding a header of two or more words as a
phrase ("Đơn vị tiếp nhận" for "Đơn vị") scores by the share of its words the header covers.
A heading of three letters or fewer ("STT") is only ever an exact form. Each field is
proposed for at most one heading, the best pairs first; a heading whose best score is under
``THRESHOLD`` gets no proposal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from chiso.catalog.feeds import Contract
from chiso.text import fold

THRESHOLD = 70  # 0-100; below it a proposal is more often wrong than right
MAX_WORDS = 12  # words of a header whose abbreviations are tried (n² forms)


@dataclass(frozen=True)
class Proposal:
    """A heading of the file, the field chiso proposes for it (None: no likely field) and
    how alike they are (0-100)."""

    heading: str
    field: str | None
    score: int


@lru_cache(maxsize=4096)
def _forms(header: str) -> tuple[tuple[str, str], ...]:
    """A folded header and its forms with one run of two or more words as initials, each
    with its initials ("" for the header as written)."""
    words = header.split()[:MAX_WORDS]
    forms = {(" ".join(words), "")}
    for start in range(len(words)):
        for end in range(start + 2, len(words) + 1):
            initials = "".join(w[0] for w in words[start:end])
            forms.add((" ".join([*words[:start], initials, *words[end:]]), initials))
    return tuple(sorted(forms))


def _abbreviates(initials: str, words: list[str]) -> bool:
    """Some word of the heading is these initials, or starts with them and is at most two
    letters longer ("tthc" for "thủ tục"): otherwise two unrelated initials would score as
    alike as the words around them."""
    return any(w.startswith(initials) and len(w) - len(initials) <= 2 for w in words)


def similarity(heading: str, header: str) -> int:
    """How alike a file's heading and a contract header are, 0-100, ignoring tone marks,
    case, punctuation and word order, with abbreviations by initials."""
    return _folded(fold(heading), fold(header))


def _folded(a: str, full: str) -> int:
    if not a or not full:
        return 0
    forms = _forms(full)
    words, wanted = a.split(), full.split()
    if len(a.replace(" ", "")) <= 3:
        return 100 if any(form == a for form, _i in forms) else 0
    best = 0.0
    for form, initials in forms:
        if initials and not _abbreviates(initials, words):
            continue
        best = max(best, fuzz.token_sort_ratio(a, form), fuzz.ratio(a, form))
    if len(wanted) >= 2 and f" {full} " in f" {a} ":
        best = max(best, 60 + 40 * len(wanted) / len(words))
    return round(best)


def _labels(contract: Contract) -> dict[str, list[str]]:
    return {name: [name.replace("_", " "), *spec.headers]
            for name, spec in contract.fields.items()}


def propose(contract: Contract, headings: Iterable[str],
            taken: Iterable[str] = ()) -> list[Proposal]:
    """One proposal per heading, in the order given. ``taken``: fields other columns of the
    file already fill, never proposed again."""
    order = list(dict.fromkeys(h for h in headings if h.strip()))
    free = {name: [fold(label) for label in labels]
            for name, labels in _labels(contract).items() if name not in set(taken)}
    folded = {h: fold(h) for h in order}
    pairs = sorted(((max(_folded(folded[h], label) for label in labels), h, name)
                    for h in order for name, labels in free.items()),
                   key=lambda p: (-p[0], p[1], p[2]))
    chosen: dict[str, tuple[str, int]] = {}
    used: set[str] = set()
    for score, heading, name in pairs:
        if score < THRESHOLD:
            break
        if heading in chosen or name in used:
            continue
        chosen[heading] = (name, score)
        used.add(name)
    return [Proposal(h, chosen[h][0], chosen[h][1]) if h in chosen else Proposal(h, None, 0)
            for h in order]
