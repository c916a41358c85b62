"""How sure a score is: intervals from the counts behind each value (docs/scoring.md,
"Intervals").

* A share measured from records (a ratio indicator over a source feed: k of n dossiers, or a
  ratio of sums over n records) gets Jeffreys' 95% interval, the quantiles of
  Beta(k + ½, n − k + ½) (``statsmodels``), with n the records behind it: 12 dossiers give a
  wide interval, 12,000 a narrow one. A ratio of sums (components over dossiers) is read as
  a share of its records, a working approximation for records of similar size.
* A criterion's points at the two ends of its value's interval bound its points (scoring
  functions are monotone in the value).
* A group combines its children's half-widths in quadrature (independent criteria), scaled
  like its points when siblings are re-weighted, clipped to 0 and the group's points.
* Two scores cannot be told apart when their difference is within the quadrature of the two
  facing half-widths (the 95% test of a difference of independent estimates).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from chiso import stat_models

LEVEL = 0.95


def share_interval(value: float, scale: float, records: int) -> tuple[float, float] | None:
    """Jeffreys' 95% interval of a share ``value`` (out of ``scale``) measured on ``records``
    records, in the value's own terms; None when there are no records or the value is not a
    share of them."""
    if records <= 0 or scale <= 0 or not 0 <= value <= scale:
        return None
    stat_models.load()  # heavy: loaded on first use
    from statsmodels.stats.proportion import proportion_confint

    k = value / scale * records
    lo, hi = proportion_confint(k, records, alpha=1 - LEVEL, method="jeffreys")
    # the estimate itself is always inside (Jeffreys' ends at k = 0 or n are one-sided)
    return min(float(lo) * scale, value), max(float(hi) * scale, value)


def quadrature(points: float, parts: Iterable[tuple[float, float, float]], factor: float,
               ceiling: float) -> tuple[float, float]:
    """The interval of a sum of ``factor`` × parts, each part (points, low, high): half-widths
    added in quadrature, clipped to [0, ceiling]."""
    down = up = 0.0
    for p, lo, hi in parts:
        down += (p - lo) ** 2
        up += (hi - p) ** 2
    return (max(points - factor * math.sqrt(down), 0.0),
            min(points + factor * math.sqrt(up), ceiling))


def apart(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Whether two scores (points, low, high) can be told apart: the higher one's lower
    half-width and the lower one's upper half-width, in quadrature, are less than their
    difference."""
    hi_, lo_ = (a, b) if a[0] >= b[0] else (b, a)
    gap = hi_[0] - lo_[0]
    return gap > math.hypot(hi_[0] - hi_[1], lo_[2] - lo_[0]) + 1e-9
