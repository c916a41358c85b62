"""A share judged over its whole window, not on one month (docs/outlook.md, "Judged over the
window").

A ratio is measured over whatever span it is asked for as the sum of its numerators over the
sum of its denominators, and a target with no judged periods is judged on its window (the year
to date of its deadline): December's share of a year's dossiers is not the year's share. The
outlook therefore forecasts the share of the window's records, of which most are known before
the deadline: the counts known so far plus the records still to come, at the rate the monthly
forecast gives for the months left.

* the records still to come: the pace of the last ``PACE_MONTHS`` months with counts (records
  a day) times the days from the latest point to the deadline;
* their rate: for a share of small counts, the rate's distributions of ``counts.rate_betas``
  and the future records' count beta-binomial (exact); else the monthly forecast's value and
  standard error, the future records' share normal around it;
* the window's share and its error weigh the future by its share of the window's records:
  with ten months known, the two months left move the year's share by a sixth of their own.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.stats import betabinom

from chiso.outlook.counts import counted, rate_betas
from chiso.outlook.forecast import Z80, Forecast
from chiso.outlook.series import Point, TargetTerms

PACE_MONTHS = 3


def window_points(points: list[Point], terms: TargetTerms) -> list[Point] | None:
    """The window's points, each with its counts; None when a point of the window lacks them
    (the window's share cannot then be made from the points)."""
    inside = sorted((p for p in points if terms.start <= p.at <= terms.deadline),
                    key=lambda p: p.at)
    if not inside or len(counted(inside)) != len(inside):
        return None
    return inside


def running_shares(points: list[Point]) -> list[float | None]:
    """The share of the records from the first point to each point, in percent (None while
    no record has come): what a year-to-date figure reads month after month."""
    out: list[float | None] = []
    k = n = 0.0
    for p in points:
        k, n = k + float(p.numerator or 0), n + float(p.denominator or 0)
        out.append(100 * k / n if n > 0 else None)
    return out


def share_so_far(points: list[Point], terms: TargetTerms) -> float | None:
    """The window's share from the records known so far (percent); None without counts."""
    inside = window_points(points, terms)
    return running_shares(inside)[-1] if inside is not None else None


def records_to_come(inside: list[Point], terms: TargetTerms) -> float:
    """Records expected from the latest point to the deadline, at the recent pace (each
    point covers its month up to its day: a month's end, or today's day in the month)."""
    recent = inside[-PACE_MONTHS:]
    days = sum(p.at.day for p in recent)
    pace = sum(float(p.denominator or 0) for p in recent) / days if days else 0.0
    return max(pace * (terms.deadline - inside[-1].at).days, 0.0)


def window_forecast(month: Forecast, points: list[Point], terms: TargetTerms) -> Forecast:
    """The forecast of the window's share made from ``month``, the forecast of the
    deadline's month; ``month`` itself when the window's points lack counts."""
    inside = window_points(points, terms)
    if inside is None or month.value is None:
        return month
    k = sum(float(p.numerator or 0) for p in inside)
    n = sum(float(p.denominator or 0) for p in inside)
    future = records_to_come(inside, terms)
    total = n + future
    if total <= 0:
        return month
    weight = future / total
    if month.method == "pooled_counts" and future >= 1:
        return _counted(month, inside, terms, k, total, round(future))
    centre = (k + future * month.value / 100) / total * 100
    se = None if month.se is None else month.se * weight
    low = high = None
    if se is not None:
        low, high = _clip(centre - Z80 * se, terms), _clip(centre + Z80 * se, terms)
    return replace(month, value=_clip(centre, terms), low=low, high=high, se=se,
                   raw=centre, probability=None, pooled=True)


def _counted(month: Forecast, inside: list[Point], terms: TargetTerms, k: float,
             total: float, future: int) -> Forecast:
    """The window's share when the future records are a handful: their count is
    beta-binomial over the rate's distributions, and the probability exact."""
    dists = [betabinom(future, a, b) for a, b in rate_betas(inside, terms)]
    xs = np.arange(future + 1)
    pmf = sum(d.pmf(xs) for d in dists) / len(dists)
    shares = 100 * (k + xs) / total
    met = np.array([terms.met(float(v)) for v in shares])
    mean = float(np.sum(pmf * shares))
    sd = math.sqrt(max(float(np.sum(pmf * shares ** 2)) - mean ** 2, 0.0))
    cdf = np.cumsum(pmf)
    low = float(shares[int(np.searchsorted(cdf, 0.1))])
    high = float(shares[min(int(np.searchsorted(cdf, 0.9)), future)])
    return replace(month, value=mean, low=low, high=high, se=sd, raw=mean,
                   probability=float(np.sum(pmf[met])), pooled=True)


def _clip(v: float, terms: TargetTerms) -> float:
    low, high = terms.bounds
    return min(max(v, low), high)
