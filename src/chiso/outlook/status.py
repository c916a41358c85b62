"""A target's status at a unit on a day (docs/outlook.md, "Statuses").

The rule, for a target ``value direction threshold`` by ``deadline``:

1. After the deadline: ``đạt`` if the last value meets the threshold, else ``chậm tiến độ``.
2. ``thiếu dữ liệu`` when fewer than ``min_observations`` months have a value, or the latest
   value is older than ``stale_days``.
3. Otherwise forecast the deadline value with its standard error and take
   ``p`` = probability that the deadline value meets the threshold (normal forecast error).
   * ``đạt`` when the latest value already meets the threshold and ``p ≥ p_on_track``;
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
from chiso.outlook.progress import Progress, ProgressCategory, progress_measure
from chiso.outlook.series import Point, TargetTerms


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

    p_on_track: float = 0.7
    p_behind: float = 0.25
    min_observations: int = 3
    stale_days: int = 100


DEFAULT_RULE = Rule()


@dataclass(frozen=True)
class Assessment:
    status: Status
    forecast: Forecast
    probability: float | None  # of meeting the threshold at the deadline
    latest: Point | None
    progress: Progress


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def probability_met(fc: Forecast, terms: TargetTerms) -> float | None:
    if fc.value is None:
        return None
    gap = terms.gap(fc.value)
    if fc.se is None or fc.se <= 0:
        return 1.0 if terms.met(fc.value) else 0.0
    return _phi(gap / fc.se)


def assess(terms: TargetTerms, points: list[Point], today: date,
           rule: Rule = DEFAULT_RULE) -> Assessment:
    """Forecast, probability, status and progress measure of one target at one unit."""
    known = sorted((p for p in points if p.at <= today), key=lambda p: p.at)
    latest = known[-1] if known else None
    fc = forecast(known, terms, today)
    prog = _progress(known, terms)
    if today > terms.deadline and latest is not None:
        st = Status.met if terms.met(latest.value) else Status.behind
        return Assessment(st, fc, None, latest, prog)
    if (latest is None or fc.observations < rule.min_observations
            or (today - latest.at).days > rule.stale_days):
        return Assessment(Status.no_data, fc, probability_met(fc, terms), latest, prog)
    p = probability_met(fc, terms)
    assert p is not None
    assert latest is not None
    if p >= rule.p_on_track:
        st = Status.met if terms.met(latest.value) else Status.on_track
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
