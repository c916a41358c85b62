"""The scoring room's typed answers: a ranking and a unit's score tree.

The API, the pages, the reports and the exports all read scores through :func:`ranking` and
:func:`unit_score`; none of them reads the score tables or decodes another door's JSON.
Errors are :class:`ScoringError` (unknown method, kind or unit), never HTTP errors.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, func, select

from chiso.catalog.loader import Catalog
from chiso.context import Answer, Runtime
from chiso.measurement.periods import Period, parse_period
from chiso.scoring import live
from chiso.store.tables import intake_batches, scores, task_evidence


class ScoringError(LookupError):
    """No such method, kind of unit or scored unit; the message says which."""


class ScoreNode(Answer):
    """One criterion (or group of criteria) of a score tree."""

    code: str
    name: str
    points: float
    low: float | None = Field(default=None, description="the points' 95% interval, from the "
                              "counts behind the value (docs/scoring.md, Intervals)")
    high: float | None = None
    max_points: float
    formula: str
    missing: bool = Field(description="the input was missing (shown, never dropped)")
    stale: bool = Field(description="scored on a last known value")
    excluded: bool = Field(description="left out, its points shared by its siblings")
    value: float | None = None
    share: float | None = None
    source: str | None = None
    input: dict[str, Any] | None = Field(
        default=None, description="what the criterion is measured from: an indicator, "
        "targets, tasks, published data, or awaiting_data with the reason")
    links: dict[str, str] | None = Field(
        default=None, description="the API addresses of the values and records behind it")
    children: list[ScoreNode] | None = None


class CriterionMove(Answer):
    """A criterion whose points moved since the previous period."""

    criterion: str
    name: str
    before: float
    now: float
    delta: float
    value_before: float | None = None
    value_now: float | None = None
    within_noise: bool = Field(default=False, description="the move is within the two "
                               "periods' intervals: the data cannot tell it from chance")


class Place(Answer):
    rank: int
    points: float


class ScoreTree(Answer):
    """A unit's score for a period by one method: the stored score when scores have been
    computed for the period (``stored``), else computed now."""

    method: str
    version: str
    provisional: bool
    missing_rule: str = Field(description="what a criterion whose source sent nothing for the "
                              "unit earns: zero, exclude, last_known")
    awaiting_rule: str = Field(description="what a criterion no source can measure yet does: "
                               "exclude (left out, its siblings share its points) or zero")
    unit: str
    unit_name: str
    kind: str
    period: str
    points: float
    low: float | None = Field(default=None, description="the score's 95% interval")
    high: float | None = None
    max_points: float
    missing: int = Field(description="criteria with no input for the unit, ``awaiting`` of "
                         "them because no source can measure them yet")
    awaiting: int = Field(default=0, description="criteria no source can measure yet (counted "
                          "in ``missing`` too)")
    tree: ScoreNode
    stored: bool
    rank: int | None = None
    of: int | None = Field(default=None, description="units ranked beside it")
    rank_best: int | None = Field(default=None, description="the best rank the score's "
                                  "interval allows among the stored scores of its kind")
    rank_worst: int | None = Field(default=None, description="the worst rank it allows")
    previous_period: str | None = None
    previous: Place | None = Field(default=None, description="the stored score of the "
                                   "previous period, when there is one")
    rank_change: int | None = Field(default=None, description="places gained (negative: "
                                    "lost) since the previous period")
    points_change: float | None = None
    within_noise: bool | None = Field(
        default=None, description="the change since the previous period is within the two "
        "scores' intervals (None: no previous score)")
    explanation: list[CriterionMove] = Field(
        default_factory=list, description="criteria that moved since the previous period, "
        "largest first")
    computed_at: datetime | None = None
    computed_now: dict[str, float] | None = Field(
        default=None, description="the points computed now from today's data, beside the "
        "stored score")


class RankingRow(Answer):
    rank: int
    unit: str
    name: str
    points: float
    low: float = Field(description="the score's 95% interval, from the counts behind it")
    high: float
    rank_best: int = Field(description="the best rank the interval allows: 1 + the units "
                           "surely ahead")
    rank_worst: int = Field(description="the worst rank it allows; the units ranked between "
                            "rank_best and rank_worst cannot be told apart from this one")
    within_noise: bool | None = Field(
        default=None, description="the change since the previous period is within the two "
        "scores' intervals (None: no previous score)")
    missing: int
    computed_at: datetime | None = None
    previous: Place | None = None
    rank_change: int | None = Field(default=None, description="places gained (negative: "
                                    "lost) since the previous period")
    points_change: float | None = None
    explanation: list[CriterionMove] = Field(default_factory=list,
                                             description="criteria that moved, largest first")


class Ranking(Answer):
    """Ranks of one kind of unit by one method for a period, with the change since the
    previous period and which criteria moved."""

    method: str
    version: str
    provisional: bool
    kind: str
    period: str
    previous_period: str | None
    stored: bool = Field(description="read from stored scores (false: computed now)")
    units: list[RankingRow]


def default_period(today: date) -> Period:
    """The period scores are shown for when none is asked: the year to date."""
    return Period.ytd(today)


def unit_score(conn: Connection, rt: Runtime, method: str, unit: str, period: Period,
               today: date) -> ScoreTree:
    """A unit's whole score tree: points, formula, input value and missing markers of each
    criterion, with links down to the indicator's values and records."""
    try:
        fresh = live.unit_score(conn, rt.catalog, method, unit, period.label, today)
    except KeyError as exc:
        raise ScoringError(str(exc.args[0])) from exc
    row = live.stored_score(conn, fresh["method"], unit, fresh["period"])
    if row is None:
        return ScoreTree.model_validate({**fresh, "stored": False})
    place = live.stored_place(conn, fresh["method"], unit, fresh["kind"], fresh["period"])
    return ScoreTree.model_validate({
        **fresh, **(place or {}), "stored": True,
        "previous_period": live.previous_period(fresh["period"]),
        "points": row["points"], "tree": row["tree"],
        "low": row["tree"].get("low"), "high": row["tree"].get("high"),
        "rank": row["rank"], "of": row["of"], "computed_at": row["computed_at"],
        "version": row["version"], "computed_now": {"points": fresh["points"]}})


# Rankings are read far more often than scores change: the answer is kept, with its encoded
# JSON, until the method's stored scores or the data behind scores computed on the fly move
# (one cheap query), checked at most every ``rankings_recheck`` seconds. The cache lives in
# the runtime and keeps at most ``answers_kept`` rankings, the oldest dropped first.
_CACHE = "scoring.rankings"
_CHECKING = "scoring.rankings.checking"  # rankings being re-checked now


def _mark(conn: Connection, method: str, labels: list[str]) -> tuple[Any, ...]:
    stored = conn.execute(select(func.count(), func.max(scores.c.computed_at)).where(
        scores.c.method == method, scores.c.period.in_(labels))).one()
    batch = conn.execute(select(func.max(intake_batches.c.id))).scalar()
    evidence = conn.execute(select(func.max(task_evidence.c.id))).scalar()  # task criteria
    return (*stored, batch, evidence)


def kept_ranking_json(rt: Runtime, method: str, kind: str, period: Period, today: date
                      ) -> bytes | None:
    """The ranking's JSON from the runtime's cache when it was checked less than
    ``rankings_recheck`` seconds ago (no database read: safe on the event loop), else None.
    While one caller re-checks a ranking (None was returned to it), the others get the kept
    JSON rather than all checking at once. Call it from one thread (the event loop)."""
    kept = rt.caches.get(_CACHE, {})
    key = (method, kind, period.label, today.isoformat())
    cached = kept.get(key)
    if cached is None:
        return None
    body: bytes = cached[3]
    if time.monotonic() - cached[1] < rt.settings.rankings_recheck:
        return body
    checking: set[tuple[str, str, str, str]] = rt.caches.setdefault(_CHECKING, set())
    if key in checking:
        return body
    checking.add(key)  # ranking_with_json discards it when its check is done
    return None


def ranking_with_json(rt: Runtime, method: str, kind: str, period: Period, today: date
                      ) -> tuple[Ranking, bytes]:
    """:func:`ranking` and its JSON encoding (what the API sends), from the runtime's cache
    while the scores and data behind it have not moved."""
    key = (method, kind, period.label, today.isoformat())
    try:
        return _ranking_with_json(rt, key, method, kind, period, today)
    finally:
        rt.caches.get(_CHECKING, set()).discard(key)


def _ranking_with_json(rt: Runtime, key: tuple[str, str, str, str], method: str, kind: str,
                       period: Period, today: date) -> tuple[Ranking, bytes]:
    kept: dict[tuple[str, str, str, str], tuple[tuple[Any, ...], float, Ranking, bytes]] = \
        rt.caches.setdefault(_CACHE, {})
    cached = kept.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[1] < rt.settings.rankings_recheck:
        return cached[2], cached[3]
    previous = period.previous()
    with rt.engine.connect() as conn:
        mark = _mark(conn, method, [period.label, *([previous.label] if previous else [])])
        if cached is None or cached[0] != mark:
            try:
                answer = Ranking.model_validate(
                    live.ranking(conn, rt.catalog, method, kind, period.label, today))
            except (KeyError, ValueError) as exc:
                raise ScoringError(str(exc.args[0])) from exc
            body = answer.model_dump_json().encode()
        else:
            answer, body = cached[2], cached[3]
    while key not in kept and len(kept) >= rt.settings.answers_kept:
        kept.pop(next(iter(kept)))  # the oldest entry goes first
    kept[key] = (mark, now, answer, body)
    return answer, body


def ranking(rt: Runtime, method: str, kind: str, period: Period, today: date) -> Ranking:
    """Ranks of ``kind`` units by ``method`` for ``period`` (stored scores, or computed now
    when none are stored), with the change since the previous period."""
    return ranking_with_json(rt, method, kind, period, today)[0]


def stored_ranking(conn: Connection, catalog: Catalog, method: str, kind: str,
                   period: Period, today: date) -> Ranking:
    """:func:`ranking` from stored scores only: nothing is computed, so the answer is cheap
    and moves only when the period is re-scored; no units when none are stored. Raises
    :class:`ScoringError` for a method without a version in force."""
    try:
        return Ranking.model_validate(live.ranking(conn, catalog, method, kind, period.label,
                                                   today, compute=False))
    except (KeyError, ValueError) as exc:
        raise ScoringError(str(exc.args[0])) from exc


def period_of(label: str, today: date) -> Period:
    """A period a reader asked for, or the default one when the label is empty; raises
    :class:`~chiso.measurement.periods.PeriodError` for a label that is not a period."""
    return parse_period(label, today) if label else default_period(today)
