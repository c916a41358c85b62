"""Cleaning a monthly grid before a trend is fitted (docs/outlook.md, "Forecast method").

* ``isolated_outliers``: a month that stands far from *both* its neighbours on the same side
  (an outage, a reporting error) is left out of the fit. A month with no later month to compare
  with is never left out: a first bad month and the start of a collapse look the same until
  the next report.
* ``seasonal_offsets``: from at least two earlier years of months, each calendar month's usual
  distance from its year's robust (Theil–Sen) line (the median over years), so a year-end rush seen
  every year is expected again. Tết months are left out (Tết moves between January and
  February; it is handled as an intervention).
"""

from __future__ import annotations

import math
from datetime import date
from itertools import pairwise

import numpy as np

from chiso.outlook.series import Point, month_index, tet_months

MAD_TO_SD = 1.4826  # the median absolute deviation of a normal sample, as a standard deviation
OUTLIER_SDS = 4.0
MIN_HISTORY_YEARS = 2
MIN_MONTHS_A_YEAR = 10


def _side(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def isolated_outliers(grid: list[float], floor: float) -> set[int]:
    """Indices of months more than ``OUTLIER_SDS`` robust deviations (and at least ``floor``)
    away from the median of the two known months before *and* of the two after, on the same
    side. The deviation is the median absolute month-to-month change of the grid."""
    known = [(i, v) for i, v in enumerate(grid) if not math.isnan(v)]
    if len(known) < 5:
        return set()
    steps = [abs(b[1] - a[1]) for a, b in pairwise(known)]
    sd = MAD_TO_SD * float(np.median(steps))
    limit = max(OUTLIER_SDS * sd, floor)
    out: set[int] = set()
    for k in range(1, len(known) - 1):
        i, v = known[k]
        before = _side([x for _, x in known[max(0, k - 2):k]])
        after = _side([x for _, x in known[k + 1:k + 3]])
        if before is None or after is None:
            continue
        da, db = v - before, v - after
        if abs(da) > limit and abs(db) > limit and (da > 0) == (db > 0):
            out.add(i)
    return out


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The median of the pairwise slopes and the median intercept: a line the seasonal months
    themselves do not tilt."""
    i, j = np.triu_indices(len(x), k=1)
    slope = float(np.median((y[j] - y[i]) / (x[j] - x[i])))
    return slope, float(np.median(y - slope * x))


def seasonal_offsets(history: list[Point]) -> dict[int, float] | None:
    """Calendar month (1–12) → usual offset from the year's line; None without at least
    ``MIN_HISTORY_YEARS`` years of ``MIN_MONTHS_A_YEAR`` months."""
    by_year: dict[int, dict[int, list[float]]] = {}
    for p in history:
        if (p.at.year, p.at.month) in tet_months(p.at.year):
            continue
        by_year.setdefault(p.at.year, {}).setdefault(p.at.month, []).append(p.value)
    residuals: dict[int, list[float]] = {}
    years = 0
    for months in by_year.values():
        if len(months) < MIN_MONTHS_A_YEAR - 1:  # Tết takes one month out
            continue
        years += 1
        x = np.array(sorted(months), dtype=float)
        y = np.array([float(np.mean(months[int(m)])) for m in x])
        slope, intercept = theil_sen(x, y)
        for m, v in zip(x, y, strict=True):
            residuals.setdefault(int(m), []).append(float(v - (intercept + slope * m)))
    if years < MIN_HISTORY_YEARS:
        return None
    offsets = {m: float(np.median(r)) for m, r in residuals.items()}
    centre = float(np.mean(list(offsets.values())))
    return {m: offsets.get(m, centre) - centre for m in range(1, 13)}


def deseasonalise(grid: list[float], start: date, offsets: dict[int, float]) -> list[float]:
    first = month_index(start)
    return [v - offsets[(first + i) % 12 + 1] if not math.isnan(v) else v
            for i, v in enumerate(grid)]
