"""What the outlook works on: a target's terms and the dated points of its indicator."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from chiso.catalog.models import Direction

# Lunar New Year (Tết Nguyên Đán), first day. The month that holds it, and the month after
# when Tết falls in its last ten days, are the months whose values dip (offices close for a
# week or more). Source: the Vietnamese lunar calendar; extend as years pass.
TET = {
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}


def tet_months(year: int) -> set[tuple[int, int]]:
    """(year, month) pairs whose values the Tết holiday depresses."""
    day = TET.get(year)
    if day is None:
        return {(year, 1), (year, 2)}  # unknown year: the two months Tết can fall in
    out = {(year, day.month)}
    if day.day >= 20:
        out.add((year, day.month + 1))
    return out


@dataclass(frozen=True)
class Point:
    """One observed value of the indicator, true as of ``at``.

    For a ratio, ``numerator`` and ``denominator`` are the counts behind ``value`` when known
    (a commune's 7 of 8 dossiers): the forecast then takes the sampling noise of small counts
    into its interval.
    """

    at: date
    value: float
    numerator: float | None = None
    denominator: float | None = None


RANK = "thứ hạng"  # the unit of measure of a place in a ranking (1 is first)


@dataclass(frozen=True)
class TargetTerms:
    """What a target asks: ``value direction threshold`` by ``deadline``.

    ``start`` is the start of measurement (the baseline date: the first day the plan counts
    from); ``lower``/``upper`` bound the values the measure can take (0–100 for a share).
    ``pooled``: the target is judged on the share of the records of the whole window
    (``start``..``deadline``: the sum of the numerators over the sum of the denominators, as
    a ratio is measured over the year to date), not on the deadline month's own value.
    """

    direction: Direction
    threshold: float
    deadline: date
    start: date
    unit_of_measure: str = "%"
    lower: float | None = 0.0
    upper: float | None = None
    pooled: bool = False

    @property
    def higher_is_better(self) -> bool:
        return self.direction.higher_is_better

    @property
    def bounds(self) -> tuple[float, float]:
        upper = self.upper
        if upper is None:
            upper = 100.0 if self.unit_of_measure == "%" else math.inf
        lower = -math.inf if self.lower is None else self.lower
        if self.unit_of_measure == RANK:
            lower = max(lower, 1.0)  # first place is the best a rank can be
        return (lower, upper)

    def met(self, value: float) -> bool:
        return self.direction.met(round(value, 6), self.threshold)

    def gap(self, value: float) -> float:
        """How far ``value`` is on the good side of the threshold (negative: short of it)."""
        return value - self.threshold if self.higher_is_better else self.threshold - value


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def monthly_grid(points: list[Point], start: date, until: date) -> list[float]:
    """Mean of the points in each calendar month from ``start``'s month to ``until``'s month;
    ``nan`` for a month with no point (irregular reporters leave holes; the model skips them)."""
    first, last = month_index(start), month_index(until)
    sums = [0.0] * (last - first + 1)
    counts = [0] * (last - first + 1)
    for p in points:
        i = month_index(p.at) - first
        if 0 <= i < len(sums) and p.at <= until:
            sums[i] += p.value
            counts[i] += 1
    return [s / c if c else math.nan for s, c in zip(sums, counts, strict=True)]
