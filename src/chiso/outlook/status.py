"""A target's status at a unit on a day (docs/outlook.md, "Statuses").

The rule, for a target ``value direction threshold`` by ``deadline``:

1. After the deadline: ``đạt`` if the judged value meets the threshold, else ``chậm tiến độ``.
   The judged value is the last value, or for a target judged on its window's share
   (``TargetTerms.pooled``) the share of the window's records; the forecast is then of that
   share too (``pooled.py``).
2. ``thiếu dữ liệu`` when fewer than ``min_observations`` months have a value, or the latest
   value is older than ``stale_days`` and fewer than ``history_months`` months have a value
   (a late reporter with enough history is forecast over the longer horizon, not dropped);
   but ``có nguy cơ`` (p = 0) when such a target's judged value misses the threshold within
   ``closing_months`` of the deadline's month: no time is left for a trend to show.
3. Otherwise forecast the deadline value with its standard error and take
   ``p`` = probability that the deadline value meets the threshold (normal forecast error;
   exact for a share of small counts, ``counts.py``). A threshold at the measure's bound
   ("≥ 100%", "≤ 0%") cannot be judged by a forecast that is capped there:
   ``p`` = (months meeting it among the last ``bound_window`` + 1) / (months + 2), and at most
   one half when the latest value does not meet it (``bound_probability``).
   * ``đạt`` when the judged value already meets the threshold and ``p ≥ p_on_track``;
   * ``đúng tiến độ`` when ``p ≥ p_on_track``;
   * ``có nguy cơ`` when ``p_behind ≤ p < p_on_track``;
   * ``chậm tiến độ`` when ``p < p_behind``.
   Without an interval (a fallback forecast) ``p`` is 1 or 0 by the point forecast.

``có nguy cơ`` and ``chậm tiến độ`` are *flags*: they raise alerts. The probabilities are
tuned by the backtest (bench/backtest) on its tuning seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from chiso.outlook.forecast import Forecast, forecast
from chiso.outlook.pooled import share_so_far, window_forecast
from chiso.outlook.progress import Progress, ProgressCategory, progress_measure
from chiso.outlook.series import Point, TargetTerms, month_index


class Status(StrEnum):
    met = "đạt"
    on_track = "đúng tiến độ"
    at_risk = "có nguy cơ"
    behind = "chậm tiến độ"
    no_data = "thiếu dữ liệu"

    @property
    def flagged(self) -> bool:
        return self in (Status.at_risk, Status.behind)

    @property
    def en(self) -> str:
        return {"đạt": "met", "đúng tiến độ": "on track", "có nguy cơ": "at risk",
                "chậm tiến độ": "behind", "thiếu dữ liệu": "not enough data"}[self.value]


@dataclass(frozen=True)
class Rule:
    """The thresholds of the status rule (defaults chosen on the backtest's tuning seeds)."""

    p_on_track: float = 0.55
    p_behind: float = 0.25
    min_observations: int = 3
    stale_days: int = 100
    history_months: int = 6
    bound_window: int = 6
    closing_months: int = 3


DEFAULT_RULE = Rule()


@dataclass(frozen=True)
class Assessment:
    status: Status
    forecast: Forecast
    probability: float | None  # of meeting the threshold at the deadline
    latest: Point | None
    progress: Progress
    # the judged value a status rests on when there was too little data to forecast
    # (``thiếu dữ liệu`` overridden near the deadline): the sentence says so
    known_only: float | None = None


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def at_bound(terms: TargetTerms) -> bool:
    """Whether the threshold sits at the bound of the measure (≥ its maximum, ≤ its minimum)."""
    low, high = terms.bounds
    return terms.threshold >= high if terms.higher_is_better else terms.threshold <= low


def bound_probability(known: list[Point], terms: TargetTerms, window: int) -> float:
    """Laplace's rule over the last ``window`` values: the chance the next one meets a
    threshold at the bound; at most one half while the latest value misses it."""
    recent = known[-window:]
    hits = sum(terms.met(p.value) for p in recent)
    p = (hits + 1) / (len(recent) + 2)
    return p if terms.met(recent[-1].value) else min(p, 0.5)


def probability_met(fc: Forecast, terms: TargetTerms) -> float | None:
    """P(the deadline value meets the threshold): exact when the forecast gives it (a share of
    small counts, ``counts.py``), else under a normal forecast error."""
    if fc.value is None:
        return None
    if fc.probability is not None:
        return fc.probability
    if fc.se is None or fc.se <= 0:
        return 1.0 if terms.met(fc.value) else 0.0
    return _phi(terms.gap(fc.value) / fc.se)


def assess(terms: TargetTerms, points: list[Point], today: date,
           rule: Rule = DEFAULT_RULE) -> Assessment:
    """Forecast, probability, status and progress measure of one target at one unit.
    Points before ``terms.start`` are earlier years (seasonality only)."""
    known = sorted((p for p in points if p.at <= today), key=lambda p: p.at)
    fc = forecast(known, terms, today)
    known = [p for p in known if p.at >= terms.start]
    # a target judged on its window's share: that share so far, and its forecast
    so_far = share_so_far(known, terms) if terms.pooled else None
    if so_far is not None:
        fc = window_forecast(fc, known, terms)
    latest = known[-1] if known else None
    judged = so_far if so_far is not None else latest.value if latest else None
    prog = _progress(known, terms)
    if today > terms.deadline and judged is not None:
        st = Status.met if terms.met(judged) else Status.behind
        return Assessment(st, fc, None, latest, prog)
    stale = latest is not None and (today - latest.at).days > rule.stale_days
    if (latest is None or fc.reported < rule.min_observations
            or (stale and fc.reported < rule.history_months)):
        if (judged is not None and not terms.met(judged)
                and month_index(terms.deadline) - month_index(today) < rule.closing_months):
            # too little data for a trend and too little time for one to show: what is
            # known misses the threshold
            return Assessment(Status.at_risk, fc, 0.0, latest, prog, known_only=judged)
        return Assessment(Status.no_data, fc, probability_met(fc, terms), latest, prog)
    p = (bound_probability(known, terms, rule.bound_window) if at_bound(terms)
         else probability_met(fc, terms))
    assert p is not None
    assert judged is not None
    if so_far is not None and at_bound(terms) and not terms.met(so_far):
        p = 0.0  # a record that missed a bound stays in the window's share
    if p >= rule.p_on_track:
        st = Status.met if terms.met(judged) else Status.on_track
    elif p >= rule.p_behind:
        st = Status.at_risk
    else:
        st = Status.behind
    return Assessment(st, fc, p, latest, prog)


def _progress(known: list[Point], terms: TargetTerms) -> Progress:
    if len(known) < 2:
        return Progress(None, None, None, ProgressCategory.undetermined)
    base, cur = known[0], known[-1]
    return progress_measure(base.value, base.at, cur.value, cur.at, terms.threshold,
                            terms.deadline, terms.higher_is_better)
