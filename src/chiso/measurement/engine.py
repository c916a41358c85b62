"""What each record contributes to the day state, as SQL: shared by the incremental path and
the full recompute, so that both compute a contribution with the very same expression.

For an additive indicator (count, sum, ratio of counts or sums, change) a record in the
population (the indicator's ``where``, a non-null time field) contributes, on its Vietnamese
day: ``records`` 1, ``num`` (1 or the summed field when it passes the value's or numerator's
own ``where``, else 0) and ``den`` (likewise for a ratio's denominator). For a distinct count it
contributes its key. For a ``latest`` measure (stats.value) it contributes its published value.

An indicator placed by a due time (``comes_due``) also says, per record, ``due_day``: the
Vietnamese day after which a record not yet settled counts (NULL: it counts now, being settled
or already past due while paused; 9999-12-31: its clock is stopped). Those records are kept in
``m_pending`` as well, and a value as of time t leaves out the ones whose due_day is not over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Float,
    FromClause,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    text,
    type_coerce,
)

from chiso.catalog.indicators import (
    PERIOD_FEEDS,
    CompareFields,
    Indicator,
    Kind,
    Measure,
    Measurement,
)
from chiso.clock import VIETNAM_NAME
from chiso.measurement import compile as compile_mod
from chiso.measurement.compile import compile_condition, working_day_after

ADDITIVE = {Kind.count, Kind.sum, Kind.ratio, Kind.change}
STOPPED = date(9999, 12, 31)  # due_day of a record whose clock is stopped (never due while so)


def shape(ind: Indicator) -> str:
    """Which day-state table an indicator keeps: day (additive), distinct or published; or
    derived (kind lowest: read from other indicators' values, keeping no state)."""
    if ind.kind is Kind.lowest:
        return "derived"
    sides = {m.agg for _, m in ind.measures()}
    if "latest" in sides:
        if ind.feed not in PERIOD_FEEDS:
            raise NotImplementedError(f"{ind.code}: latest over an event feed is not supported")
        return "published"
    if ind.kind is Kind.distinct_count:
        return "distinct"
    if ind.kind in ADDITIVE:
        return "day"
    raise NotImplementedError(f"{ind.code}: kind {ind.kind}")


local_day = compile_mod.local_day  # the Vietnamese calendar day of a timestamp


def _side(m: Measure | None, table: FromClause, dialect: str, ind: Indicator) -> Any:
    if m is None:
        return literal(0)
    cond = compile_condition(m.where, table, dialect, ind.working_days)
    if m.agg == "count":
        return case((cond, 1), else_=0)
    assert m.field is not None
    return case((cond, func.coalesce(table.c[m.field], 0)), else_=0)


def _shifted_day(ind: Indicator, table: FromClause, dialect: str) -> ColumnElement[Any]:
    """The Vietnamese day of the time field moved by the due-time offset (calendar days, or
    working days when the indicator says so)."""
    assert ind.comes_due is not None
    col: Any = table.c[ind.time_field]
    offset, fixed = ind.comes_due.offset_days_from, ind.comes_due.offset_days
    if offset is None and fixed is None:
        return local_day(col, dialect)
    days: Any = (func.coalesce(table.c[offset], 0) if offset is not None
                 else literal(fixed, Float))
    if ind.working_days:
        return working_day_after(col, days, dialect)
    if dialect == "sqlite":
        return type_coerce(func.date(func.julianday(col) + days + 7 / 24), Date)
    return cast(func.timezone(text(f"'{VIETNAM_NAME}'"),
                              col + days * text("interval '1 day'")), Date)


def due_day(ind: Indicator, table: FromClause, dialect: str) -> ColumnElement[Any]:
    """Per record: NULL if it counts now, else the day after which it counts (see module)."""
    cd = ind.comes_due
    if cd is None:
        return type_coerce(null(), Date)
    wd = ind.working_days
    branches: list[tuple[Any, Any]] = []
    if cd.settled is not None:
        branches.append((compile_condition(cd.settled, table, dialect, wd), null()))
    if cd.paused is not None:
        assert cd.paused_since is not None
        # paused after its adjusted due time had passed: already late, counts now
        late = CompareFields(field=cd.paused_since, op=">=", other=ind.time_field,
                             offset_days_from=cd.offset_days_from,
                             offset_days=cd.offset_days)
        paused = compile_condition(cd.paused, table, dialect, wd)
        branches.append((and_(paused, compile_condition(late, table, dialect, wd)), null()))
        branches.append((paused, literal(STOPPED, Date)))
    return type_coerce(case(*branches, else_=_shifted_day(ind, table, dialect))
                       if branches else _shifted_day(ind, table, dialect), Date)


def population(ind: Indicator, table: FromClause, dialect: str) -> ColumnElement[bool]:
    return and_(compile_condition(ind.where, table, dialect, ind.working_days),
                table.c[ind.time_field].is_not(None))


def contribution_rows(ind: Indicator, table: FromClause, dialect: str,
                      scope: ColumnElement[bool] | None = None) -> Select[Any]:
    """One row per record of ``table`` (latest or versions) in the indicator's population:
    indicator, source, record_id, unit, day, num, den, key, ingested_at."""
    kind = shape(ind)
    if kind == "day":
        num = _side(ind.numerator or ind.value, table, dialect, ind)
        den = _side(ind.denominator, table, dialect, ind)
        key: Any = null()
        extra: ColumnElement[bool] = literal(True)
    elif kind == "distinct":
        assert ind.value is not None
        assert ind.value.field is not None
        num, den = literal(0), literal(0)
        key = cast(table.c[ind.value.field], String)
        extra = and_(compile_condition(ind.value.where, table, dialect, ind.working_days),
                     table.c[ind.value.field].is_not(None))
    else:
        raise ValueError(f"{ind.code}: published values have no day contributions")
    where = [population(ind, table, dialect), extra]
    if scope is not None:
        where.append(scope)
    return select(
        literal(ind.code, String).label("indicator"), table.c.source, table.c.record_id,
        table.c.unit, local_day(table.c[ind.time_field], dialect).label("day"),
        type_coerce(num, Float).label("num"), type_coerce(den, Float).label("den"),
        type_coerce(key, String).label("key"), table.c.ingested_at,
        (due_day(ind, table, dialect) if kind == "day" else type_coerce(null(), Date))
        .label("due_day"),
    ).where(*where)


@dataclass(frozen=True)
class PublishedSide:
    indicator: str
    side: str  # value | numerator | denominator
    measure: Measure


def published_sides(ind: Indicator) -> list[PublishedSide]:
    return [PublishedSide(ind.code, name, m) for name, m in ind.measures()]


def published_rows(ind: Indicator, side: PublishedSide, table: FromClause, dialect: str,
                   scope: ColumnElement[bool] | None = None) -> Select[Any]:
    """The published figures a latest measure reads (stats.value, stats.grdp): one row per
    record. A feed without ``published_at`` is placed by its release time, and a figure is
    hand-typed only where the feed says so (``manual``)."""
    m = side.measure
    assert m.field is not None
    where = [
        compile_condition(ind.where, table, dialect, ind.working_days),
        compile_condition(m.where, table, dialect, ind.working_days),
        table.c[m.field].is_not(None),
    ]
    if m.stats_indicator is not None:
        where.append(table.c.indicator == m.stats_indicator)
    if scope is not None:
        where.append(scope)
    cols = table.c
    return select(
        cols.source, cols.record_id, cols.unit, cols.period,
        type_coerce(cols[m.field], Float).label("value"),
        (cols.published_at if "published_at" in cols else cols.released_at)
        .label("published_at"),
        cols.ingested_at,
        (cols.manual if "manual" in cols else literal(False)).label("manual"),
    ).where(*where)


class CalendarMissingError(RuntimeError):
    """Working-day indicators cannot be computed without the calendar table."""


def require_calendar(conn: Connection, inds: list[Indicator]) -> None:
    """Refuse to compute working-day indicators on a database whose calendar is empty: every
    comparison would silently be false."""
    if any(i.working_days for i in inds) and compile_mod.calendar_missing(conn):
        raise CalendarMissingError(
            "the working-day calendar is not in the database: run chiso with the catalog "
            "(it writes the calendar) before computing values")


def feed_indicators(m: Measurement, feed: str) -> list[Indicator]:
    return [ind for ind in m.indicators.values() if ind.feed == feed]
