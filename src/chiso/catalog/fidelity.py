"""Proof that the catalog is faithful to its sources.

For every item, each *verbatim* field must be found on the seed line(s) the item cites. Both
sides are normalised first: markup (``**bold**``, ``<p>``) removed, white space collapsed, NFC.
A cell that a page break splits (the table header repeated between its halves) may be found
in up to four pieces, each at least 12 characters long, so that a typo can never hide.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
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


def found_in(value: str, source: str) -> bool:
    """True when value is in source whole, or in a few long pieces (a cell split by a page)."""
    rest = normalise(value)
    if rest in source:
        return True
    for _ in range(_MAX_PIECES):
        lo, hi = 0, len(rest)
        while lo < hi:  # longest prefix of rest that occurs in source
            mid = (lo + hi + 1) // 2
            if rest[:mid] in source:
                lo = mid
            else:
                hi = mid - 1
        if lo == len(rest):
            return len(rest) >= _MIN_PIECE or rest == normalise(value)
        if lo < _MIN_PIECE:
            return False
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


def _values(item: Sourced, name: str) -> Iterator[str]:
    value = getattr(item, name)
    if value is None:
        return
    if isinstance(value, list):
        yield from value
    else:
        yield value


def _check_item(entry: PlanEntry, item: Target | Task, seeds: SeedLines) -> Iterator[Mismatch]:
    seed = entry.seed_of(item)
    cited = item.lines
    if isinstance(item, Target) and item.body_lines:
        cited = f"{cited},{item.body_lines}"
    source = seeds.text(seed, cited)
    for name in VERBATIM_FIELDS[type(item)]:
        for value in _values(item, name):
            if not found_in(value, source):
                yield Mismatch(entry.plan.number, item.id, name, value, seed, cited)
    if isinstance(item, Task):
        for i, ms in enumerate(item.milestones):
            ms_source = seeds.text(ms.seed or seed, ms.lines)
            for name in ("text", "due_text"):
                value = getattr(ms, name)
                if not found_in(value, ms_source):
                    yield Mismatch(entry.plan.number, f"{item.id}.milestones[{i}]", name,
                                   value, ms.seed or seed, ms.lines)


def _check_plan(plan: Plan, groups: list[Group], seeds: SeedLines) -> Iterator[Mismatch]:
    seed = plan.seed or ""
    if not found_in(plan.title, seeds.text(seed, plan.lines)):
        yield Mismatch(plan.number, "plan", "title", plan.title, seed, plan.lines)
    for group in groups:
        if not found_in(group.title, seeds.text(group.seed or seed, group.lines)):
            yield Mismatch(plan.number, f"group {group.code}", "title", group.title,
                           group.seed or seed, group.lines)
    for basis in plan.bases:
        if not found_in(basis.text, seeds.text(basis.seed or seed, basis.lines)):
            yield Mismatch(plan.number, "basis", "text", basis.text, basis.seed or seed,
                           basis.lines)
    for rule in plan.reporting:
        if not found_in(rule.text, seeds.text(rule.seed or seed, rule.lines)):
            yield Mismatch(plan.number, "reporting", "text", rule.text, rule.seed or seed,
                           rule.lines)
    if plan.recipients and plan.recipients_lines:
        source = seeds.text(seed, plan.recipients_lines)
        for name in plan.recipients:
            if not found_in(name, source):
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
        for item in items:
            out.extend(_guarded(plan.number, item.id, entry.seed_of(item), item.lines,
                                partial(_check_item, entry, item, seeds)))
    return out


def _guarded(plan: str, item: str, seed: str, lines: str,
             check: Callable[[], Iterable[Mismatch]]) -> list[Mismatch]:
    """Run a check; a seed file that is missing or shorter than cited becomes a mismatch."""
    try:
        return list(check())
    except (IndexError, OSError) as exc:
        return [Mismatch(plan, item, "lines", str(exc), seed, lines)]
