"""Forecasting the value at the deadline, with an interval (docs/outlook.md).

The model is a structural time series: a *local linear trend* (Harvey 1989) estimated by
maximum likelihood with the Kalman filter (``statsmodels.tsa.statespace``). It suits what the
units report: short series (a few months), noise, months that are simply missing (the filter
skips them, no imputation), and a level and slope that drift. The Tết months are treated as
missing for the trend (an intervention, not a seasonal cycle: one year of data cannot estimate
a seasonal cycle, but we know when Tết falls). Fallbacks: with 3–5 usable months an ordinary
least-squares line with its prediction interval; with fewer, the last value and no interval.
A share's slope fades beyond the last month (a damped trend, ``DAMPING`` a month): a climb
slows as it nears its bound and a fall stops, and a climb that has slowed levels off; a
running count (any measure that is not a share) keeps its pace.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

import numpy as np

from chiso import stat_models
from chiso.outlook.counts import counted, small_counts_forecast
from chiso.outlook.robust import deseasonalise, isolated_outliers, seasonal_offsets, theil_sen
from chiso.outlook.series import Point, TargetTerms, month_index, monthly_grid, tet_months

Method = Literal["local_linear_trend", "ols_line", "pooled_counts", "last_value", "none"]

Z80 = 1.2815515655446004  # the 80% interval: 10% each side


@dataclass(frozen=True)
class Forecast:
    """The forecast value at the deadline, its standard error and 80% interval."""

    value: float | None
    low: float | None
    high: float | None
    se: float | None
    method: Method
    observations: int  # months with a usable value
    horizon: int  # months from the last month with data to the deadline's month
    reported: int = 0  # months with a value, before Tết months and outliers are left out
    denominator: float | None = None  # typical count behind a ratio, when the counts are known
    seasonal: float = 0.0  # the deadline month's usual offset, from earlier years
    probability: float | None = None  # of meeting the threshold, when the model gives it exactly
    raw: float | None = None  # the model's value before it is clipped to the measure's bounds
    pooled: bool = False  # of the window's share (``pooled.py``), not of the deadline's month

    @property
    def has_interval(self) -> bool:
        return self.se is not None


MIN_STATE_SPACE = 6  # months needed before the structural model is fitted
MIN_LINE = 3
RECENT_MONTHS = 6  # the trend model is fitted on the last six months with a value
HALF_MIN = 2  # months in each half of the robust line before a levelling off is looked for
# the local trend's weight in the combination with the robust line (1/3 beat 1/2 on the
# backtest's tuning seeds: recall 97.2% against 96.2%, precision 92.0% against 90.3%)
TREND_WEIGHT = 1 / 3
# a share's slope fades by this factor a month beyond the last one (Gardner's damped trend):
# 0.85 against none on the backtest's tuning seeds 1–60, twelve families, shares only:
# recall 96.4% against 95.5%, precision 88.5% against 87.9%
DAMPING = 0.85
OUTLIER_FLOOR = 0.05  # a month is an outlier only if also this share of the level away


def _clip(v: float, bounds: tuple[float, float]) -> float:
    return min(max(v, bounds[0]), bounds[1])


def usable_grid(points: list[Point], terms: TargetTerms, today: date) -> list[float]:
    """The monthly grid the model sees: Tết months blanked when they fall below the series'
    median, and isolated outliers blanked. A Tết month is left out even when fewer than
    ``MIN_LINE`` months remain (the forecast is then the last usable month's value): a line
    through a holiday dip in a quarter's three months is all interval and no information."""
    known = [p for p in points if terms.start <= p.at <= today]
    grid = monthly_grid(known, terms.start, min(today, terms.deadline))
    first = month_index(terms.start)
    values = [v for v in grid if not math.isnan(v)]
    if len(values) >= MIN_LINE:
        med = float(np.median(values))
        tet = []
        for i, v in enumerate(grid):
            year, month = divmod(first + i, 12)
            # a dip in the Tết month is the holiday, not the trend: leave it out
            in_tet = (year, month + 1) in tet_months(year) and not math.isnan(v)
            if in_tet and (v < med) == terms.higher_is_better:
                tet.append(i)
        for i in tet:
            grid[i] = math.nan
        med = float(np.nanmedian(grid))
        for i in isolated_outliers(grid, OUTLIER_FLOOR * max(abs(med), 1.0)):
            grid[i] = math.nan
    return grid


def typical_denominator(points: list[Point]) -> float | None:
    """The median denominator of the last three months whose counts are known (None when
    fewer than ``MIN_LINE`` months carry counts)."""
    dens = [p.denominator for p in sorted(points, key=lambda p: p.at)
            if p.denominator is not None and p.denominator > 0]
    return float(np.median(dens[-3:])) if len(dens) >= MIN_LINE else None


def forecast(points: list[Point], terms: TargetTerms, today: date) -> Forecast:
    """Forecast the value of the deadline's month from the points known on ``today``.

    Points before ``terms.start`` are earlier years: with two years or more they give the
    calendar months' usual offsets (``robust.seasonal_offsets``), taken out before the fit and
    the deadline month's put back into the forecast."""
    history = [p for p in points if p.at < terms.start and p.at <= today]
    current = [p for p in points if terms.start <= p.at <= today]
    reported = sum(not math.isnan(v) for v in
                   monthly_grid(current, terms.start, min(today, terms.deadline)))
    small = small_counts_forecast(current, terms)
    if small is not None:
        last = max(p.at for p in current)
        return Forecast(small.mean, small.low, small.high, small.sd, "pooled_counts",
                        len(counted(current)),
                        max(month_index(terms.deadline) - month_index(last), 0),
                        reported, float(small.denominator), probability=small.probability)
    grid = usable_grid(current, terms, today)
    offsets = seasonal_offsets(history)
    season = 0.0
    if offsets is not None:
        grid = deseasonalise(grid, terms.start, offsets)
        season = offsets[terms.deadline.month]
    fc = _fit(grid, terms, share=terms.unit_of_measure == "%")
    centre = fc.value if fc.raw is None else fc.raw
    return replace(fc, value=None if centre is None else _clip(centre + season, terms.bounds),
                   low=None if fc.low is None else _clip(fc.low + season, terms.bounds),
                   high=None if fc.high is None else _clip(fc.high + season, terms.bounds),
                   reported=reported, denominator=typical_denominator(current),
                   seasonal=season)


def _fit(grid: list[float], terms: TargetTerms, share: bool = True) -> Forecast:
    """The forecast of the grid's deadline month. A ``share`` (a measure bounded by its
    ceiling) has its slope damped beyond the last month and may level off; any other measure
    (a running count, a stock) keeps its pace."""
    damping = _damping(share)
    known = [(i, v) for i, v in enumerate(grid) if not math.isnan(v)]
    n = len(known)
    if n == 0:
        return Forecast(None, None, None, None, "none", 0, 0)
    target_i = month_index(terms.deadline) - month_index(terms.start)
    last_i = known[-1][0]
    horizon = max(target_i - last_i, 0)
    bounds = terms.bounds
    if n < MIN_LINE:
        v = known[-1][1]
        return Forecast(v, None, None, None, "last_value", n, horizon)
    if n >= MIN_STATE_SPACE:
        # the recent regime: an early burst of growth must not widen today's interval
        first_i = known[-RECENT_MONTHS][0] if RECENT_MONTHS else 0
        fc = _state_space(grid[first_i: last_i + 1], horizon, bounds, n, damping)
        if fc is not None:
            return _combine(fc, _robust_line(known[-RECENT_MONTHS:], target_i, share),
                            bounds)
    line = _line(known, target_i, bounds, n, horizon)
    if n >= 2 * HALF_MIN:  # enough months for the robust line to see a levelling off
        return _combine(line, _robust_line(known[-RECENT_MONTHS:], target_i, share),
                        bounds)
    return line


def _robust_line(known: list[tuple[int, float]], target_i: int, share: bool = True
                 ) -> tuple[float, float]:
    """The robust trend of the recent months, extended to ``target_i``: its value and standard
    error. The Theil–Sen line through them, one noisy month moves it little (where it moves
    the local trend's slope); when the later half climbs (or falls) more slowly than the
    earlier half, the slope decays geometrically at the rate seen, from the later half's
    level: adoption levelling off towards its ceiling is not extended past it. The slowing
    down must still hold in the latest month (``_sustained``). Only a ``share`` levels off:
    a running count has no ceiling, and a lull in its pace (a summer, a holiday) is not one."""
    x = np.array([i for i, _ in known], dtype=float)
    y = np.array([v for _, v in known], dtype=float)
    slope, intercept = theil_sen(x, y)
    resid = y - (intercept + slope * x)
    sd = max(float(np.sqrt(np.sum(resid ** 2) / max(len(x) - 2, 1))), 1e-6)
    sxx = float(np.sum((x - x.mean()) ** 2)) or 1.0
    se = sd * math.sqrt(1 + 1 / len(x) + (target_i - x.mean()) ** 2 / sxx)
    steps = int(target_i - x[-1])
    value = intercept + slope * (x[-1] + _damped(steps, _damping(share)))
    half = len(x) // 2
    if share and half >= HALF_MIN:
        early_slope, _ = theil_sen(x[:half], y[:half])
        late_slope, late_icpt = theil_sen(x[half:], y[half:])
        if (early_slope * late_slope > 0 and abs(late_slope) < abs(early_slope)
                and _sustained(x, y, early_slope, late_slope)):
            months = float(x[half:].mean() - x[:half].mean())
            decay = (late_slope / early_slope) ** (1 / months)
            last = float(x[-1])
            level = late_icpt + late_slope * last
            now = late_slope * decay ** (last - float(x[half:].mean()))
            value = level + now * sum(decay ** h for h in range(1, int(steps) + 1))
    return value, se


def _damping(share: bool) -> float:
    """How much of the slope a month ahead keeps: a share's fades, a running count's not."""
    return DAMPING if share else 1.0


def _damped(steps: int, damping: float) -> float:
    """How many months of the current slope ``steps`` months ahead add up to, when the slope
    fades by ``damping`` a month (``steps`` when it does not fade)."""
    return float(sum(damping ** h for h in range(1, steps + 1))) if steps > 0 else 0.0


def _sustained(x: np.ndarray, y: np.ndarray, early: float, late: float) -> bool:
    """Whether a slowing down still holds in the latest month: its change goes no faster
    than halfway between the earlier and the later half's paces. A summer lull or a dip that
    the latest month has already left behind (the pace picks up again) is not a ceiling."""
    step = float((y[-1] - y[-2]) / (x[-1] - x[-2]))
    return step * early <= 0 or abs(step) <= (abs(early) + abs(late)) / 2


def _combine(fc: Forecast, line: tuple[float, float], bounds: tuple[float, float]) -> Forecast:
    """The combination of the trend model (weight ``TREND_WEIGHT``) and the robust line: the
    weighted mean, and the mixture's variance (the weighted variances plus the models'
    disagreement). A combination is less often far wrong than either model."""
    assert fc.se is not None
    raw = fc.value if fc.raw is None else fc.raw
    assert raw is not None
    w = TREND_WEIGHT
    mean = w * raw + (1 - w) * line[0]
    se = math.sqrt(w * fc.se ** 2 + (1 - w) * line[1] ** 2 + w * (1 - w) * (raw - line[0]) ** 2)
    return replace(fc, value=_clip(mean, bounds), low=_clip(mean - Z80 * se, bounds),
                   high=_clip(mean + Z80 * se, bounds), se=se, raw=mean)


def _line(known: list[tuple[int, float]], target_i: int, bounds: tuple[float, float],
          n: int, horizon: int) -> Forecast:
    stat_models.load()
    import statsmodels.api as sm

    x = np.array([i for i, _ in known], dtype=float)
    y = np.array([v for _, v in known], dtype=float)
    res = sm.OLS(y, sm.add_constant(x)).fit()
    pred = res.get_prediction(np.array([[1.0, float(target_i)]]))
    mean = float(pred.predicted_mean[0])
    se = float(np.sqrt(pred.var_pred_mean[0] + res.scale)) if n > 2 else math.nan
    if not math.isfinite(se) or se <= 0:
        se = max(float(np.std(y)), 1e-6)
    return Forecast(_clip(mean, bounds), _clip(mean - Z80 * se, bounds),
                    _clip(mean + Z80 * se, bounds), se, "ols_line", n, horizon, raw=mean)


def _state_space(grid: list[float], horizon: int, bounds: tuple[float, float], n: int,
                 damping: float = 1.0) -> Forecast | None:
    stat_models.load()
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    y = np.array(grid, dtype=float)
    scale = float(np.nanstd(y)) or 1.0
    centre = float(np.nanmean(y))
    z = (y - centre) / scale  # standardised: the optimiser behaves on any unit of measure
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = UnobservedComponents(z, level="local linear trend")
            res = model.fit(disp=False, method="lbfgs", maxiter=60)
            if horizon == 0:
                mean = float(res.smoothed_state[0, -1])
                se = float(np.sqrt(max(res.smoothed_state_cov[0, 0, -1], 0.0)))
            else:
                fc = res.get_forecast(horizon)
                path = np.asarray(fc.predicted_mean)
                mean = float(path[-1])
                if horizon >= 2:  # the slope fades over the horizon
                    step = float(path[1] - path[0])
                    mean = float(path[0]) + step * (_damped(horizon, damping) - 1)
                se = float(np.asarray(fc.se_mean)[-1])
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not (math.isfinite(mean) and math.isfinite(se)):
        return None
    mean, se = centre + mean * scale, max(se * scale, 1e-6)
    return Forecast(_clip(mean, bounds), _clip(mean - Z80 * se, bounds),
                    _clip(mean + Z80 * se, bounds), se, "local_linear_trend", n, horizon,
                    raw=mean)


def straight_line(points: list[Point], terms: TargetTerms, today: date) -> float | None:
    """The naive baseline: the straight line through the first and the last known values,
    extended to the deadline (no interval, no care for Tết or noise)."""
    known = sorted((p for p in points if p.at <= today), key=lambda p: p.at)
    if not known:
        return None
    if len(known) == 1:
        return known[0].value
    a, b = known[0], known[-1]
    days = (b.at - a.at).days
    if days <= 0:
        return b.value
    slope = (b.value - a.value) / days
    return _clip(b.value + slope * (terms.deadline - b.at).days, terms.bounds)
