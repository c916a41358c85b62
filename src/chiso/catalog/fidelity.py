"""Proof that the catalog is faithful to its sources.

For every item, each *verbatim* field must be found on the seed line(s) the item cites. Both
sides are normalised first: markup (``**bold**``, ``<p>``) removed, white space collapsed, NFC.
A cell that a page break or a wrapped row splits may be found in up to four pieces, each at
least 12 characters long, each piece but the last ending a table cell and each but the first
starting one, so that neither a typo nor a clause dropped from the middle can hide.

A target's interpreted fields are checked against its verbatim words: the threshold (and the
upper end of a range) is a number its threshold words state (Vietnamese writing: 120.000;
8,5), or 0 for "không …"; the direction agrees with the comparison words ("≥", "tối thiểu",
"ít nhất", "trở lên"; "trên"/">" a number; "dưới"/"<"; "≤", "tối đa", "không quá"); the unit
is "%" exactly when the words say "%", and otherwise its words are in the target's text. The
column an agency sits in: on the item's first cited line (a table row, cells split by tabs),
each role's agencies (tracking, implementing, coordinating; lead, coordinating) must sit in
the column where that role sits for most items of the plan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

from chiso.catalog.loader import Catalog, PlanEntry
from chiso.catalog.models import Group, Plan, Sourced, Target, Task, parse_lines
from chiso.text import nfc, squash

_MARKUP = re.compile(r"\*\*|</?[a-zA-Z][^>]*>")  # bold markers and HTML tags (<p>, <i>, <ul …>)
# One cell of plan 131 writes "≥ 90%" in TeX: "$\geq 90\%$".
_TEX_GEQ = re.compile(r"\$\\geq\s*([\d.,]+)\s*\\%\$")
_MIN_PIECE = 12
_MAX_PIECES = 4

VERBATIM_FIELDS: dict[type, tuple[str, ...]] = {
    Target: ("text", "threshold_text", "as_of_text", "basis",
             "tracking", "implementing", "coordinating"),
    Task: ("title", "details", "deadline_text", "expected_result", "output",
           "lead", "coordinating"),
}


def normalise(text: str) -> str:
    return squash(_MARKUP.sub("", _TEX_GEQ.sub(r"≥ \1%", nfc(text))))


@dataclass(frozen=True)
class Mismatch:
    plan: str
    item: str
    field: str
    value: str
    seed: str
    lines: str

    def __str__(self) -> str:
        return (f"{self.plan} {self.item}.{self.field}: {self.value[:80]!r} "
                f"not found on {self.seed}:{self.lines}")


def _ends_cell(piece: str, cells: list[str]) -> bool:
    return any(c.endswith(piece[-_MIN_PIECE:]) if len(c) >= _MIN_PIECE
               else piece.endswith(c) for c in cells)


def _starts_cell(piece: str, cells: list[str]) -> bool:
    return any(c.startswith(piece[:_MIN_PIECE]) if len(c) >= _MIN_PIECE
               else piece.startswith(c) for c in cells)


def found_in(value: str, source: str, cells: list[str] | None = None) -> bool:
    """True when value is in source whole, or in a few long pieces (a cell split by a page
    or a wrapped row) that end and start cells of ``cells`` (the cited lines' cells,
    normalised); without ``cells``, only whole."""
    rest = normalise(value)
    if rest in source:
        return True
    if not cells:
        return False
    for _ in range(_MAX_PIECES):
        lo, hi = 0, len(rest)
        while lo < hi:  # longest prefix of rest that occurs in source
            mid = (lo + hi + 1) // 2
            if rest[:mid] in source:
                lo = mid
            else:
                hi = mid - 1
        if lo == len(rest):
            return (len(rest) >= _MIN_PIECE and _starts_cell(rest, cells)) \
                or rest == normalise(value)
        if lo < _MIN_PIECE:
            return False
        piece = rest[:lo].rstrip()
        if not _ends_cell(piece, cells) or (
                rest != normalise(value) and not _starts_cell(piece, cells)):
            return False  # a gap inside a cell: words dropped, not a cell split
        rest = rest[lo:].lstrip()
    return False


class SeedLines:
    """The seed files, read once, addressed by 1-based line number."""

    def __init__(self, seeds_dir: Path) -> None:
        self.dir = seeds_dir
        self._files: dict[str, list[str]] = {}

    def text(self, seed: str, lines: str) -> str:
        if seed not in self._files:
            path = self.dir / seed
            self._files[seed] = path.read_text(encoding="utf-8").split("\n")
        content = self._files[seed]
        wanted = parse_lines(lines)
        if wanted[-1] > len(content):
            raise IndexError(f"{seed} has {len(content)} lines; {lines} cites beyond the end")
        return normalise(" ".join(content[n - 1] for n in wanted))

    def row(self, seed: str, lines: str, first: bool = False) -> list[list[str]]:
        """The cited lines' cells (split by tabs), normalised; only the first line's when
        ``first``."""
        self.text(seed, lines)  # reads the file, checks the range
        wanted = parse_lines(lines)[:1] if first else parse_lines(lines)
        return [[normalise(c) for c in self._files[seed][n - 1].split("\t")] for n in wanted]

    def cells(self, seed: str, lines: str) -> list[str]:
        return [c for row in self.row(seed, lines) for c in row if c]


def _values(item: Sourced, name: str) -> Iterator[str]:
    value = getattr(item, name)
    if value is None:
        return
    if isinstance(value, list):
        yield from value
    else:
        yield value


def check_item(entry: PlanEntry, item: Target | Task, seeds: SeedLines,
               expected: dict[tuple[type, str], int] | None = None) -> Iterator[Mismatch]:
    """Every field of one item its cited lines do not bear out (``expected``: the plan's
    columns per role, :func:`expected_columns`)."""
    seed = entry.seed_of(item)
    cited = item.lines
    if isinstance(item, Target) and item.body_lines:
        cited = f"{cited},{item.body_lines}"
    source = seeds.text(seed, cited)
    cells = seeds.cells(seed, cited)
    for name in VERBATIM_FIELDS[type(item)]:
        for value in _values(item, name):
            if not found_in(value, source, cells):
                yield Mismatch(entry.plan.number, item.id, name, value, seed, cited)
    if isinstance(item, Target):
        for name, problem in interpreted(item):
            yield Mismatch(entry.plan.number, item.id, name, problem, seed, cited)
    if expected:
        [row] = seeds.row(seed, item.lines, first=True)
        for role, problem in misplaced(item, row, expected):
            yield Mismatch(entry.plan.number, item.id, role, problem, seed, item.lines)
    if isinstance(item, Task):
        for i, ms in enumerate(item.milestones):
            ms_source = seeds.text(ms.seed or seed, ms.lines)
            ms_cells = seeds.cells(ms.seed or seed, ms.lines)
            for name in ("text", "due_text"):
                value = getattr(ms, name)
                if not found_in(value, ms_source, ms_cells):
                    yield Mismatch(entry.plan.number, f"{item.id}.milestones[{i}]", name,
                                   value, ms.seed or seed, ms.lines)


def _check_plan(plan: Plan, groups: list[Group], seeds: SeedLines) -> Iterator[Mismatch]:
    seed = plan.seed or ""
    if not found_in(plan.title, seeds.text(seed, plan.lines), seeds.cells(seed, plan.lines)):
        yield Mismatch(plan.number, "plan", "title", plan.title, seed, plan.lines)
    for group in groups:
        if not found_in(group.title, seeds.text(group.seed or seed, group.lines),
                        seeds.cells(group.seed or seed, group.lines)):
            yield Mismatch(plan.number, f"group {group.code}", "title", group.title,
                           group.seed or seed, group.lines)
    for basis in plan.bases:
        if not found_in(basis.text, seeds.text(basis.seed or seed, basis.lines),
                        seeds.cells(basis.seed or seed, basis.lines)):
            yield Mismatch(plan.number, "basis", "text", basis.text, basis.seed or seed,
                           basis.lines)
    for rule in plan.reporting:
        if not found_in(rule.text, seeds.text(rule.seed or seed, rule.lines),
                        seeds.cells(rule.seed or seed, rule.lines)):
            yield Mismatch(plan.number, "reporting", "text", rule.text, rule.seed or seed,
                           rule.lines)
    if plan.recipients and plan.recipients_lines:
        source = seeds.text(seed, plan.recipients_lines)
        cells = seeds.cells(seed, plan.recipients_lines)
        for name in plan.recipients:
            if not found_in(name, source, cells):
                yield Mismatch(plan.number, "plan", "recipients", name, seed,
                               plan.recipients_lines)


def check_fidelity(catalog: Catalog, seeds_dir: Path) -> list[Mismatch]:
    """Every verbatim field of every item that is not found on its cited lines."""
    seeds = SeedLines(seeds_dir)
    out: list[Mismatch] = []
    for entry in catalog.plans.values():
        plan = entry.plan
        out.extend(_guarded(plan.number, "plan", plan.seed or "", plan.lines,
                            partial(_check_plan, plan, entry.groups, seeds)))
        items: list[Target | Task] = [*entry.targets, *entry.tasks]
        expected = expected_columns(entry, seeds)
        for item in items:
            out.extend(_guarded(plan.number, item.id, entry.seed_of(item), item.lines,
                                partial(check_item, entry, item, seeds, expected)))
    return out


def _guarded(plan: str, item: str, seed: str, lines: str,
             check: Callable[[], Iterable[Mismatch]]) -> list[Mismatch]:
    """Run a check; a seed file that is missing or shorter than cited becomes a mismatch."""
    try:
        return list(check())
    except (IndexError, OSError) as exc:
        return [Mismatch(plan, item, "lines", str(exc), seed, lines)]


# --- interpreted fields: threshold, direction, unit ------------------------------------------

_NUMBER = re.compile(r"\d+(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?")
_WORDS: list[tuple[re.Pattern[str], set[str]]] = [
    (re.compile(r"≥|tối thiểu|ít nhất|trở lên"), {">=", "rank<="}),
    (re.compile(r"≤|tối đa|không quá|không phát sinh"), {"<=", "="}),
    (re.compile(r"(?<![≥≤])>|trên \d"), {">"}),
    (re.compile(r"(?<![≥≤])<|dưới \d"), {"<"}),
]


def _numbers(text: str) -> set[Decimal]:
    out = set()
    for m in _NUMBER.findall(text):
        out.add(Decimal(m.replace(".", "").replace(",", ".")))
    return out


# abbreviations the plans write for a unit's words
_ABBREVIATIONS = {"dnnvv": "doanh nghiệp nhỏ và vừa", "dn": "doanh nghiệp"}


def _words(text: str) -> set[str]:
    out = {w for w in re.split(r"[^\w]+", text.casefold()) if w}
    for short, long in _ABBREVIATIONS.items():
        if short in out:
            out |= set(long.split())
    return out


def interpreted(target: Target) -> Iterator[tuple[str, str]]:
    """(field, problem) for each interpreted field of ``target`` its own words do not bear
    out."""
    words = normalise(target.threshold_text)
    low = words.casefold()
    numbers = _numbers(words)
    for name, value in (("threshold", target.threshold), ("threshold_high", target.threshold_high)):
        if value is None:
            continue
        if numbers and Decimal(value) not in numbers:
            yield name, f"{value} is not a number of {words!r}"
        elif not numbers and not (value == 0 and "không" in low) and not (
                value == 1 and target.direction.value == "rank<=" and "dẫn đầu" in low):
            yield name, f"{value} is not stated by {words!r}"
    said = [allowed for pattern, allowed in _WORDS if pattern.search(low)]
    if said and not any(target.direction.value in allowed for allowed in said):
        yield "direction", f"{target.direction.value} disagrees with {words!r}"
    text = normalise(target.text).casefold()
    if "%" in words and target.unit_of_measure != "%":
        yield "unit_of_measure", f"{target.unit_of_measure!r} but {words!r} says %"
    elif target.unit_of_measure == "%" and "%" not in words:
        yield "unit_of_measure", f"'%' but {words!r} states no percentage"
    elif target.unit_of_measure != "%":
        unit = _words(target.unit_of_measure) - {"thứ"}
        if not unit <= _words(text) | _words(words):
            yield "unit_of_measure", f"{target.unit_of_measure!r} is not in the target's words"


# --- the column an agency sits in --------------------------------------------------------------

ROLES: dict[type, tuple[str, ...]] = {
    Target: ("tracking", "implementing", "coordinating"),
    Task: ("lead", "coordinating"),
}


def _anchor(item: Target | Task, row: list[str]) -> int | None:
    """The column of the item's own words (a target's text, a task's title): columns are
    counted from it, since rows differ in how many number cells come before it."""
    words = normalise((item.text if isinstance(item, Target) else item.title) or "")[:20]
    return next((i for i, c in enumerate(row) if words and words in c), None)


def _columns(item: Target | Task, role: str, row: list[str]) -> set[int] | None:
    """The columns of ``row`` holding every agency of ``role``, counted from the item's own
    words; None when one of them is not on the row at all (it is on a continuation line:
    no evidence of its column) or the row does not hold the item's words."""
    names = [normalise(n) for n in _values(item, role)]
    anchor = _anchor(item, row)
    if not names or anchor is None:
        return None
    row = row[anchor:]
    cols: set[int] | None = None
    for n in names:
        here = {i for i, c in enumerate(row) if n in c}
        if not here:
            return None
        cols = here if cols is None else cols & here
    return cols


def expected_columns(entry: PlanEntry, seeds: SeedLines) -> dict[tuple[type, str], int]:
    """Per kind of item and role, the column most of the plan's items put that role in."""
    votes: dict[tuple[type, str], Counter[int]] = {}
    items: list[Target | Task] = [*entry.targets, *entry.tasks]
    for item in items:
        try:
            [row] = seeds.row(entry.seed_of(item), item.lines, first=True)
        except (IndexError, OSError):
            continue
        for role in ROLES[type(item)]:
            cols = _columns(item, role, row)
            if cols and len(cols) == 1:
                votes.setdefault((type(item), role), Counter())[next(iter(cols))] += 1
    return {k: v.most_common(1)[0][0] for k, v in votes.items()}


def misplaced(item: Target | Task, row: list[str],
              expected: dict[tuple[type, str], int]) -> Iterator[tuple[str, str]]:
    """(role, problem) for each role whose agencies sit in another column than expected."""
    for role in ROLES[type(item)]:
        want = expected.get((type(item), role))
        cols = _columns(item, role, row)
        if want is not None and cols is not None and want not in cols:
            yield role, (f"found {min(cols)} columns after the item's words; the {role} "
                         f"column is {want} after them")
