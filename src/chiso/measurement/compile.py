"""Compiling the condition language to SQLAlchemy expressions (a stub for the engine).

No ``eval``: each node of a :mod:`chiso.catalog.indicators` condition maps to one
SQLAlchemy construct over the feed's latest table (``chiso.store.tables.FEED_TABLES``).
Day offsets (``f <= g + d days``) are dialect-specific: ``julianday`` arithmetic on SQLite,
interval arithmetic on PostgreSQL. Working-day offsets need the working-day calendar table
that the engine will add; they are refused here until then.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, func, not_, or_, text, true

from chiso.catalog.indicators import (
    AllOf,
    AnyOf,
    Compare,
    CompareFields,
    Condition,
    Not,
)

_OPS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


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
    if cond.offset_days_from is not None:
        if working_days:
            raise NotImplementedError("working-day offsets need the working-day calendar table")
        days = table.c[cond.offset_days_from]
        if dialect == "sqlite":
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
