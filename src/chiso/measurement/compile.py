"""Compiling the condition language to SQLAlchemy expressions (a stub for the engine).

No ``eval``: each node of a :mod:`chiso.catalog.indicators` condition maps to one
SQLAlchemy construct over the feed's latest table (``chiso.store.tables.FEED_TABLES``).
Day offsets (``f <= g + d days``) are dialect-specific: ``julianday`` arithmetic on SQLite,
interval arithmetic on PostgreSQL. Working-day offsets read the calendar table ``workdays``
(written with the catalog): a timestamp's *working clock* is the number of working days before
its Vietnamese day, plus the fraction of the day elapsed if that day is worked (a day off
freezes the clock at the end of the last working day), and ``f <= g + d working days`` is
``clock(f) <= clock(g) + d``. A day outside the calendar's years has no clock: the condition
is then false (the calendar spans the years in ``data/calendar/vn.yaml``). On PostgreSQL the
calendar is read once per statement as arrays and each record's day looked up by position
(every day of the span is a row, and the working days' ``n_before`` run 0, 1, 2 …); SQLite
looks each one up in the table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Date,
    Float,
    FromClause,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from chiso.catalog.indicators import (
    AllOf,
    AnyOf,
    Compare,
    CompareFields,
    Condition,
    Not,
)
from chiso.clock import VIETNAM_NAME
from chiso.store.tables import workdays

_OPS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def local_day(col: Any, dialect: str) -> ColumnElement[Any]:
    """The Vietnamese calendar day of a timestamp (stored in UTC)."""
    if dialect == "sqlite":
        return type_coerce(func.date(col, "+7 hours"), Date)
    return cast(func.timezone(text(f"'{VIETNAM_NAME}'"), col), Date)


def month_start(day: Any, dialect: str) -> ColumnElement[Any]:
    """The first day of the calendar month of a date column."""
    if dialect == "sqlite":
        return type_coerce(func.date(day, "start of month"), Date)
    return cast(func.date_trunc("month", day), Date)


def _day_fraction(col: Any, dialect: str) -> ColumnElement[Any]:
    """How much of its Vietnamese day a timestamp has elapsed, 0 to 1."""
    if dialect == "sqlite":
        return func.julianday(col, "+7 hours") - func.julianday(func.date(col, "+7 hours"))
    local = func.timezone(text(f"'{VIETNAM_NAME}'"), col)
    return func.extract("epoch", local - func.date_trunc("day", local)) / 86400.0


def _clock_of(w: Any, col: Any, dialect: str) -> ColumnElement[Any]:
    clock: ColumnElement[Any] = w.c.n_before + case(
        (w.c.working, _day_fraction(col, dialect)), else_=0.0)
    return clock


def work_clock(col: Any, dialect: str) -> ColumnElement[Any]:
    """Working days elapsed from the calendar's first day to ``col`` (see the module)."""
    if dialect == "postgresql":
        at = _calendar_index(col)
        clock: ColumnElement[Any] = _column_array(workdays.c.n_before, Integer)[at] + case(
            (_column_array(workdays.c.working, Boolean)[at], _day_fraction(col, dialect)),
            else_=0.0)
        return clock
    w = workdays.alias()
    return (select(_clock_of(w, col, dialect))
            .where(w.c.day == local_day(col, dialect)).correlate_except(w).scalar_subquery())


def working_day_after(col: Any, days: Any, dialect: str) -> ColumnElement[Any]:
    """The Vietnamese day on which ``col`` moved by ``days`` working days falls: the first
    working day whose end is at or after that clock."""
    bound: ColumnElement[Any] = work_clock(col, dialect) + days - 1
    if dialect == "postgresql":
        # working days are numbered 0, 1, 2 … by n_before: the one numbered n is the n+1-th
        w = workdays.alias()
        by_number = (select(func.array_agg(aggregate_order_by(w.c.day, w.c.n_before)))
                     .where(w.c.working.is_(True)).scalar_subquery())
        number = cast(func.ceil(bound), Integer)
        # a bound before the first working day is that day; no bound (no clock), no day
        at = case((number < 0, 0), else_=number) + 1
        return type_coerce(by_number, ARRAY(Date))[at]
    # a subquery of its own, so that the bound is one value and the search an index range
    # on n_before (as a join the planner walks the calendar for every record); ``col``
    # correlates through both levels
    w = workdays.alias()
    return (select(w.c.day)
            .where(w.c.working.is_(True), w.c.n_before >= bound)
            .order_by(w.c.n_before, w.c.day).limit(1)
            .scalar_subquery())


def _column_array(column: Any, element: Any) -> Any:
    """PostgreSQL: a column of the calendar as an array in day order, an uncorrelated
    subquery the planner evaluates once per statement (an init plan), so that every record
    looks its day up by position instead of by an index search."""
    w = workdays.alias()
    return type_coerce(select(func.array_agg(aggregate_order_by(w.c[column.name], w.c.day)))
                       .scalar_subquery(), ARRAY(element))


def _calendar_index(col: Any) -> ColumnElement[Any]:
    """The 1-based position of ``col``'s Vietnamese day in the calendar (every day from the
    first is a row); outside it the arrays answer NULL, as the table has no row."""
    w = workdays.alias()
    first = select(func.min(w.c.day)).scalar_subquery()
    return type_coerce(local_day(col, "postgresql") - first, Integer) + 1


def calendar_missing(conn: Any) -> bool:
    """True when the working-day calendar table is empty (the catalog was never written)."""
    return conn.execute(select(workdays.c.day).limit(1)).first() is None


def compile_condition(cond: Condition | None, table: FromClause, dialect: str,
                      working_days: bool = False) -> ColumnElement[bool]:
    """The SQL expression for ``cond`` over ``table``; ``dialect`` is sqlite or postgresql."""
    if cond is None:
        return true()
    if isinstance(cond, AllOf):
        return and_(*(compile_condition(c, table, dialect, working_days) for c in cond.all))
    if isinstance(cond, AnyOf):
        return or_(*(compile_condition(c, table, dialect, working_days) for c in cond.any))
    if isinstance(cond, Not):
        return not_(compile_condition(cond.not_, table, dialect, working_days))
    col = table.c[cond.field]
    if isinstance(cond, Compare):
        match cond.op:
            case "is_null":
                return col.is_(None)
            case "not_null":
                return col.is_not(None)
            case "in":
                return col.in_(cond.value)  # type: ignore[arg-type]
            case "not_in":
                return col.not_in(cond.value)  # type: ignore[arg-type]
        if isinstance(cond.value, bool):
            expr = col.is_(True) if cond.value else col.is_(False)
            return expr if cond.op == "==" else not_(expr)
        result: ColumnElement[bool] = _OPS[cond.op](col, cond.value)
        return result
    return _compare_fields(cond, table, dialect, working_days)


def _compare_fields(cond: CompareFields, table: FromClause, dialect: str,
                    working_days: bool) -> ColumnElement[bool]:
    left: Any = table.c[cond.field]
    right: Any = table.c[cond.other]
    if cond.offset_days_from is not None or cond.offset_days is not None:
        days: Any = (table.c[cond.offset_days_from] if cond.offset_days_from is not None
                     else literal(cond.offset_days, Float))
        if working_days:
            left, right = work_clock(left, dialect), work_clock(right, dialect) + days
        elif dialect == "sqlite":
            left, right = func.julianday(left), func.julianday(right) + days
        elif dialect == "postgresql":
            right = right + days * text("interval '1 day'")
        else:
            raise ValueError(f"no day arithmetic for dialect {dialect!r}")
    result: ColumnElement[bool] = and_(
        table.c[cond.field].is_not(None), table.c[cond.other].is_not(None),
        _OPS[cond.op](left, right),
    )
    return result
