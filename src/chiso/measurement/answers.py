"""The measurement room's typed answers: what an indicator is, its values for a period and
level, and the records behind a value. The API, the pages, the reports and the exports all read
these; none reads another door's JSON.

Errors are :class:`MeasurementError`: ``missing`` (no such indicator: a 404 at the web door) or
``invalid`` (a period that cannot be read: 422).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import date
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Connection, func, select

from chiso.catalog.indicators import Indicator, Measurement
from chiso.context import Answer, Runtime
from chiso.measurement import engine as eng
from chiso.measurement import values as mv
from chiso.measurement.compile import compile_condition
from chiso.measurement.periods import PeriodError, parse_period
from chiso.store.tables import intake_batches

Level = Literal["unit", "units", "city"]


class MeasurementError(Exception):
    """A question the measurement room cannot answer: ``kind`` says why."""

    def __init__(self, kind: Literal["missing", "invalid"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class IndicatorSummary(Answer):
    code: str
    name_vi: str
    name_en: str
    feed: str
    kind: str
    time_field: str | None
    unit_of_measure: str
    direction: str
    rollup: str
    state: str


class BoundTarget(Answer):
    plan: str
    target: str
    level: str


class IndicatorDefinition(Answer):
    """An indicator's whole definition, as its file says it, and the targets bound to it."""

    indicator: Indicator
    state: str
    targets: list[BoundTarget]

    def as_json(self) -> dict[str, Any]:
        """The definition's fields (the file's names), ``state`` and ``targets``."""
        return {**self.indicator.model_dump(mode="json", by_alias=True), "state": self.state,
                "targets": [t.model_dump() for t in self.targets]}


class IndicatorDefinitionOut(Answer):
    """``GET /api/v1/indicators/{code}``: every field of the indicator's file (those named here
    and the rest: population, numerator, denominator, baseline, …), its state, its targets."""

    code: str
    name_vi: str
    name_en: str
    feed: str
    kind: str
    time_field: str | None = None
    unit_of_measure: str
    direction: str
    rollup: str
    state: str
    targets: list[BoundTarget]


class ValueOut(Answer):
    """One value as the API serves it (times ISO 8601, UTC)."""

    indicator: str
    unit: str | None = Field(description="None: the city, every unit rolled up")
    period: str
    start: str = Field(description="the period's first day, YYYY-MM-DD")
    end: str = Field(description="the period's last day, YYYY-MM-DD")
    value: float | None
    numerator: float | None
    denominator: float | None
    records: int
    as_of: str | None = Field(description="when the newest record behind it was accepted")
    changed_at: str | None
    baseline: float | None = None
    baseline_period: str | None = None
    covers: str | None = Field(default=None, description="published values: the period(s) "
                               "the figure is for")
    source: str | None = Field(default=None, description="the indicator the value is read "
                               "from when it is not this one's own (its fallback)")
    parts: dict[str, float | None] | None = Field(
        default=None, description="kind lowest: each indicator's value it is the lowest of")


class DayOut(Answer):
    day: str
    value: float | None
    numerator: float
    denominator: float
    records: int


class IndicatorValuesOut(Answer):
    """``GET /api/v1/indicators/{code}/values``."""

    indicator: IndicatorSummary
    period: str
    level: Level
    values: list[ValueOut]
    days: list[DayOut] | None = None


class ProgressValue(Answer):
    unit: str | None
    period: str
    value: float | None
    records: int
    as_of: str | None
    met: bool | None
    source: str | None = Field(default=None, description="the indicator the value is read "
                               "from when it is not the bound one's own (its fallback)")
    covers: str | None = Field(default=None, description="published values: the period(s) "
                               "the figure is for")


class ProgressIndicator(Answer):
    indicator: str
    name_vi: str
    name_en: str
    values: list[ProgressValue]


class TargetProgress(Answer):
    """``GET /api/v1/plans/{key}/targets/{target_id}/progress``: the bound indicators' values
    against the target's threshold, per judged period (and implementing unit)."""

    plan: str
    plan_key: str
    target: str
    direction: str
    threshold: float
    unit_of_measure: str
    deadline: str
    awaiting_data: str | None = None
    level: str | None = None
    periods: list[str] = Field(default_factory=list)
    note: str | None = None
    note_vi: str | None = None
    indicators: list[ProgressIndicator]


class IndicatorValues(Answer):
    """The values of one indicator for a period: one per unit, or the city's."""

    indicator: IndicatorSummary
    period: str
    level: Level
    values: list[dict[str, Any]]
    days: list[dict[str, Any]] | None = None

    def first(self) -> dict[str, Any] | None:
        """The city's (or the unit's) value, or None when nothing was recorded."""
        return self.values[0] if self.values else None


class RecordPage(Answer):
    """A page of the latest records behind a value; ``counts`` on each record says whether it
    adds to the numerator (or the count)."""

    indicator: str
    period: str
    unit: str | None
    total: int
    page: int
    size: int
    records: list[dict[str, Any]]


def measurement(rt: Runtime) -> Measurement:
    m = rt.catalog.measurement
    if m is None:
        raise MeasurementError("missing", "no indicator definitions in the catalog")
    return m


def indicator(rt: Runtime, code: str) -> Indicator:
    ind = measurement(rt).indicators.get(code)
    if ind is None:
        raise MeasurementError("missing", f"no indicator {code!r}")
    return ind


def summary(ind: Indicator) -> IndicatorSummary:
    return IndicatorSummary(
        code=ind.code, name_vi=ind.name_vi, name_en=ind.name_en, feed=ind.feed,
        kind=ind.kind.value, time_field=ind.time_field, unit_of_measure=ind.unit_of_measure,
        direction=ind.direction, rollup=ind.rollup, state=eng.shape(ind))


def summaries(rt: Runtime, feed: str | None = None) -> list[IndicatorSummary]:
    """Every indicator definition, in catalog order; ``feed`` keeps that feed's."""
    return [summary(i) for i in measurement(rt).indicators.values()
            if feed is None or i.feed == feed]


def bound_targets(rt: Runtime, code: str) -> list[BoundTarget]:
    """The targets whose binding names the indicator."""
    return [BoundTarget(plan=pb.plan, target=b.target, level=b.level)
            for pb in measurement(rt).plans.values() for b in pb.bound
            if code in b.indicators]


def definition(rt: Runtime, code: str) -> IndicatorDefinition:
    ind = indicator(rt, code)
    return IndicatorDefinition(indicator=ind, state=eng.shape(ind),
                               targets=bound_targets(rt, code))


def members(rt: Runtime, unit: str | None) -> list[str] | None:
    """A group's member units (a group code rolls up its members); None for a plain unit.
    MeasurementError (missing) for a code that is neither a unit nor a group: an unknown
    code must not read as a unit with no data."""
    units = rt.catalog.units
    if unit and unit in units.groups:
        return units.expand(unit)
    if unit is not None and unit not in units.units:
        raise MeasurementError("missing", f"unit: no unit or group {unit[:64]!r} (GET "
                               "/api/v1/units lists them; the city is level=city)")
    return None


def indicator_values(rt: Runtime, conn: Connection, code: str, period: str, today: date, *,
                     unit: str | None = None, level: Level | None = None,
                     by_day: bool = False) -> IndicatorValues:
    """The indicator's values for ``period`` (default: the year to date), with their as-of
    time and record count; ``by_day`` adds the day-by-day series (additive indicators)."""
    ind = indicator(rt, code)
    period = period or f"{today.year}-YTD"
    try:
        vals = mv.values(conn, measurement(rt), code, period, unit, level,
                         members(rt, unit), today)
    except PeriodError as exc:
        raise MeasurementError("invalid", str(exc)) from exc
    days = mv.day_series(conn, code, period, unit, measurement(rt)) if by_day else None
    return IndicatorValues(indicator=summary(ind), period=period,
                           level=level or ("unit" if unit else "city"),
                           values=[v.as_dict() for v in vals], days=days)


def indicator_records(rt: Runtime, conn: Connection, code: str, period: str, today: date, *,
                      unit: str | None = None, page: int = 1, size: int = 50) -> RecordPage:
    """The latest records behind a value, paged (personal fields are intake's pseudonyms)."""
    ind = indicator(rt, code)
    members(rt, unit)  # an unknown unit is refused here, as for the values
    try:
        p = parse_period(period or f"{today.year}-YTD", today)
    except PeriodError as exc:
        raise MeasurementError("invalid", str(exc)) from exc
    latest, where = mv.records_query(conn, measurement(rt), ind, p, unit)
    side = ind.numerator or ind.value
    counts = compile_condition(side.where if side else None, latest, conn.dialect.name,
                               ind.working_days)
    total = conn.execute(select(func.count()).select_from(latest).where(*where)).scalar_one()
    rows = conn.execute(
        select(latest, counts.label("counts")).where(*where)
        .order_by(latest.c.unit, latest.c.source, latest.c.record_id)
        .limit(size).offset((page - 1) * size)).mappings().all()
    items = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
             for r in rows]
    return RecordPage(indicator=code, period=p.label, unit=unit, total=total, page=page,
                      size=size, records=items)


# -- values kept across requests -------------------------------------------------------------

# An answer stays true until the feed accepts another batch: answers are kept per data version
# (the feed's accepted batches: how many, the newest id and receipt time), for at most
# CACHE_SECONDS (a recompute or backfill run by another process is seen by then).
CACHE_SECONDS = 300.0
CACHE_SIZE = 4096
CACHE_KEY = "measurement.values"


class _ValueCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple[Any, ...], tuple[float, IndicatorValues]] = OrderedDict()


def data_version(conn: Connection, feed: str) -> tuple[Any, ...]:
    """What changes whenever a batch of ``feed`` becomes visible (one indexed query)."""
    row = conn.execute(select(func.count(), func.max(intake_batches.c.id),
                              func.max(intake_batches.c.received_at)).where(
        intake_batches.c.feed == feed, intake_batches.c.status == "accepted")).one()
    return (int(row[0]), row[1], str(row[2]))


class Values:
    """Indicator values for one reader (a page, a report): each feed's data version is read
    once, and answers are shared across readers through the runtime's cache."""

    def __init__(self, rt: Runtime, conn: Connection, today: date) -> None:
        self.rt = rt
        self.conn = conn
        self.today = today
        self.versions: dict[str, tuple[Any, ...]] = {}
        self.cache: _ValueCache = rt.caches.setdefault(CACHE_KEY, _ValueCache())

    def version(self, code: str) -> tuple[Any, ...]:
        """The data versions of every feed the indicator reads (its own, its fallback's)."""
        m = self.rt.catalog.measurement
        ind = m.indicators.get(code) if m is not None else None
        feeds = [ind.feed] if ind else [""]
        if ind is not None and m is not None and ind.fallback:
            feeds.append(m.indicators[ind.fallback].feed)
        for feed in feeds:
            if feed not in self.versions:
                self.versions[feed] = data_version(self.conn, feed)
        return tuple(self.versions[f] for f in feeds)

    def get(self, code: str, period: str, unit: str | None = None,
            level: Level | None = None) -> IndicatorValues:
        key = (self.today, code, period, unit, level, self.version(code))
        now = time.monotonic()
        with self.cache.lock:
            hit = self.cache.items.get(key)
            if hit is not None and now - hit[0] < CACHE_SECONDS:
                self.cache.items.move_to_end(key)
                return hit[1]
        answer = indicator_values(self.rt, self.conn, code, period, self.today, unit=unit,
                                  level=level)
        with self.cache.lock:
            self.cache.items[key] = (now, answer)
            while len(self.cache.items) > CACHE_SIZE:
                self.cache.items.popitem(last=False)
        return answer

    def one(self, code: str, period: str, unit: str | None = None) -> dict[str, Any] | None:
        """The city's (or the unit's) value, or None when nothing was recorded."""
        return self.get(code, period, unit).first()
