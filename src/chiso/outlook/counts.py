"""A share made of small counts (a commune's 7 of 8 dossiers): its deadline value is a count
out of a handful, not a smooth level (docs/outlook.md, "Small counts").

The rate is the pooled share of the last ``POOL_MONTHS`` months whose counts are known, with
Jeffreys' prior (Beta(k + ½, n − k + ½)); the deadline month's count out of its typical
denominator is then beta-binomial, and the probability of meeting the threshold is exact (only
the shares k/n that month's records can reach).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import betabinom

from chiso.outlook.series import Point, TargetTerms

POOL_MONTHS = 6
SMALL = 30  # typical denominators below this are judged by their counts
MIN_MONTHS = 3


@dataclass(frozen=True)
class CountForecast:
    rate: float  # pooled share, 0–1
    denominator: int  # the deadline month's typical number of records
    probability: float  # of meeting the threshold at the deadline
    mean: float  # predictive mean of the deadline value, in percent
    sd: float  # its predictive standard deviation, in percent
    low: float  # the 80% predictive interval, in percent
    high: float


def counted(points: list[Point]) -> list[Point]:
    return [p for p in sorted(points, key=lambda p: p.at)
            if p.numerator is not None and p.denominator is not None and p.denominator > 0]


def small_counts_forecast(points: list[Point], terms: TargetTerms) -> CountForecast | None:
    """The beta-binomial forecast of a share whose recent denominators are small; None when
    the counts are unknown for fewer than ``MIN_MONTHS`` months or the denominators are not
    small, or the measure is not a share."""
    pts = counted(points)
    if terms.unit_of_measure != "%" or len(pts) < MIN_MONTHS:
        return None
    recent = pts[-POOL_MONTHS:]
    dens = sorted(float(p.denominator or 0) for p in recent[-3:])
    n = round(dens[len(dens) // 2])
    if n >= SMALL or n < 1:
        return None
    k = sum(float(p.numerator or 0) for p in recent)
    total = sum(float(p.denominator or 0) for p in recent)
    a, b = k + 0.5, total - k + 0.5
    dist = betabinom(n, a, b)
    if terms.higher_is_better:
        need = math.ceil(terms.threshold * n / 100 - 1e-9)
        prob = float(dist.sf(need - 1))
    else:
        allowed = math.floor(terms.threshold * n / 100 + 1e-9)
        prob = float(dist.cdf(allowed))
    return CountForecast(a / (a + b), n, prob, 100 * float(dist.mean()) / n,
                         100 * float(dist.std()) / n, 100 * float(dist.ppf(0.1)) / n,
                         100 * float(dist.ppf(0.9)) / n)
