"""A share made of small counts (a commune's 7 of 8 dossiers): its deadline value is a count
out of a handful, not a smooth level (docs/outlook.md, "Small counts").

The rate is the pooled share of the last ``POOL_MONTHS`` months whose counts are known, with
Jeffreys' prior (Beta(k + ½, n − k + ½)); the deadline month's count out of its typical
denominator is then beta-binomial, and the probability of meeting the threshold is exact (only
the shares k/n that month's records can reach). When the months' counts show a trend (a
binomial GLM of k of n on the month whose slope is at least ``TREND_Z`` standard errors from
zero), the rate it gives at the deadline is a second beta-binomial and the two are mixed with
equal weights.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import betabinom

from chiso import stat_models
from chiso.outlook.series import Point, TargetTerms, month_index

POOL_MONTHS = 6
SMALL = 30  # typical denominators below this are judged by their counts
MIN_MONTHS = 3
TREND_Z = 2.0  # a slope of the counts' log-odds is followed only beyond two standard errors


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
    dens = sorted(float(p.denominator or 0) for p in pts[-3:])
    n = round(dens[len(dens) // 2])
    if n >= SMALL or n < 1:
        return None
    dists = [betabinom(n, a, b) for a, b in rate_betas(pts, terms)]
    if terms.higher_is_better:
        need = math.ceil(terms.threshold * n / 100 - 1e-9)
        prob = sum(float(d.sf(need - 1)) for d in dists) / len(dists)
    else:
        allowed = math.floor(terms.threshold * n / 100 + 1e-9)
        prob = sum(float(d.cdf(allowed)) for d in dists) / len(dists)
    mean = sum(float(d.mean()) for d in dists) / len(dists)
    second = sum(float(d.var()) + float(d.mean()) ** 2 for d in dists) / len(dists)
    sd = math.sqrt(max(second - mean ** 2, 0.0))
    rate = sum(float(d.mean()) for d in dists) / len(dists) / n
    return CountForecast(rate, n, prob, 100 * mean / n, 100 * sd / n,
                         100 * min(float(d.ppf(0.1)) for d in dists) / n,
                         100 * max(float(d.ppf(0.9)) for d in dists) / n)


def rate_betas(pts: list[Point], terms: TargetTerms) -> list[tuple[float, float]]:
    """The rate's distributions, equally weighted, for the deadline's month: the pooled
    share of the last ``POOL_MONTHS`` counted months (Jeffreys' prior), and the counts'
    trend when it is beyond chance. ``pts`` are counted points (:func:`counted`)."""
    recent = pts[-POOL_MONTHS:]
    k = sum(float(p.numerator or 0) for p in recent)
    total = sum(float(p.denominator or 0) for p in recent)
    out = [(k + 0.5, total - k + 0.5)]
    trend = _trend_beta(pts, month_index(terms.deadline))
    if trend is not None:
        out.append(trend)
    return out


def _trend_beta(pts: list[Point], target: int) -> tuple[float, float] | None:
    """The rate at month ``target`` from a logistic regression of the counts on the month
    (``statsmodels`` GLM, binomial), as the Beta with the same mean and variance (delta
    method); None when the months' rates cannot be fitted (every record on one side) or
    their slope is within ``TREND_Z`` standard errors of none."""
    stat_models.load()
    import statsmodels.api as sm

    x = np.array([month_index(p.at) for p in pts], dtype=float)
    k = np.array([float(p.numerator or 0) for p in pts])
    n = np.array([float(p.denominator or 0) for p in pts])
    if np.all(k == 0) or np.all(k == n) or len(set(x.tolist())) < MIN_MONTHS:
        return None
    centre = x.mean()
    design = sm.add_constant(x - centre)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.GLM(np.column_stack([k, n - k]), design,
                         family=sm.families.Binomial()).fit()
            if abs(float(res.tvalues[1])) < TREND_Z:
                return None  # no trend beyond chance: the pooled rate stands alone
            pred = res.get_prediction(np.array([[1.0, target - centre]]), which="linear")
            eta, se = float(pred.predicted[0]), float(np.sqrt(pred.var_pred[0]))
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not (math.isfinite(eta) and math.isfinite(se)) or abs(eta) > 10:
        return None
    m = 1 / (1 + math.exp(-eta))
    v = (m * (1 - m) * se) ** 2
    common = m * (1 - m) / v - 1 if v > 0 else math.inf
    if not math.isfinite(common) or common <= 0:
        return None
    return m * common, (1 - m) * common
