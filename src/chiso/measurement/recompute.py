"""The full recompute: rebuild the day state of every indicator from the latest records.

Set-based: per indicator one ``DELETE`` and one ``INSERT … SELECT … GROUP BY unit, day`` over
``feed_<feed>`` (and ``m_month`` summed from the new ``m_day`` rows), with the same
contribution expressions as the incremental path (:mod:`chiso.measurement.engine`). It is
the oracle the incremental path is tested against. Each feed is rebuilt in one transaction;
on PostgreSQL the feed's latest table is locked against writers (``SHARE`` mode) for that
transaction, so a batch lands before or after it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, literal, select

from chiso.catalog.indicators import Indicator, Measurement
from chiso.measurement import engine as eng
from chiso.measurement.compile import month_start
from chiso.measurement.incremental import published_params
from chiso.store.tables import FEED_TABLES, m_day, m_distinct, m_month, m_pending, m_published

Progress = Callable[[Indicator], None]


def recompute_indicator(conn: Connection, ind: Indicator) -> None:
    latest, _ = FEED_TABLES[ind.feed]
    dialect = conn.dialect.name
    shape = eng.shape(ind)
    if shape == "derived":  # read from other indicators' state: nothing of its own
        return
    if shape == "published":
        conn.execute(delete(m_published).where(m_published.c.indicator == ind.code))
        params = published_params(conn, [ind], latest, None, datetime.now(UTC))
        if params:
            conn.execute(m_published.insert(), params)
        return
    eng.require_calendar(conn, [ind])
    rows = eng.contribution_rows(ind, latest, dialect).subquery("c")
    if shape == "day":
        conn.execute(delete(m_day).where(m_day.c.indicator == ind.code))
        conn.execute(insert(m_day).from_select(
            ["indicator", "unit", "day", "records", "num", "den", "as_of"],
            select(literal(ind.code), rows.c.unit, rows.c.day, func.count(),
                   func.sum(rows.c.num), func.sum(rows.c.den), func.max(rows.c.ingested_at))
            .group_by(rows.c.unit, rows.c.day)))
        _rebuild_months(conn, ind.code)
        conn.execute(delete(m_pending).where(m_pending.c.indicator == ind.code))
        if ind.comes_due is not None:
            conn.execute(insert(m_pending).from_select(
                ["indicator", "unit", "day", "due_day", "records", "num", "den", "as_of"],
                select(literal(ind.code), rows.c.unit, rows.c.day, rows.c.due_day,
                       func.count(), func.sum(rows.c.num), func.sum(rows.c.den),
                       func.max(rows.c.ingested_at))
                .where(rows.c.due_day.is_not(None))
                .group_by(rows.c.unit, rows.c.day, rows.c.due_day)))
    else:
        conn.execute(delete(m_distinct).where(m_distinct.c.indicator == ind.code))
        conn.execute(insert(m_distinct).from_select(
            ["indicator", "unit", "day", "key", "records", "as_of"],
            select(literal(ind.code), rows.c.unit, rows.c.day, rows.c.key, func.count(),
                   func.max(rows.c.ingested_at))
            .group_by(rows.c.unit, rows.c.day, rows.c.key)))


def _rebuild_months(conn: Connection, code: str) -> None:
    """``m_month`` of one indicator: its ``m_day`` rows summed by calendar month."""
    month = month_start(m_day.c.day, conn.dialect.name).label("month")
    conn.execute(delete(m_month).where(m_month.c.indicator == code))
    conn.execute(insert(m_month).from_select(
        ["indicator", "unit", "month", "records", "num", "den", "as_of"],
        select(literal(code), m_day.c.unit, month, func.sum(m_day.c.records),
               func.sum(m_day.c.num), func.sum(m_day.c.den), func.max(m_day.c.as_of))
        .where(m_day.c.indicator == code).group_by(m_day.c.unit, month)))


def recompute(engine: Engine, measurement: Measurement,
              codes: list[str] | None = None, progress: Progress | None = None) -> int:
    """Rebuild the day state (of ``codes``, or every indicator); returns indicators done."""
    m = measurement
    wanted = [m.indicators[c] for c in codes] if codes else list(m.indicators.values())
    done = 0
    for feed in sorted({i.feed for i in wanted}):
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"LOCK TABLE {FEED_TABLES[feed][0].name} IN SHARE MODE")
            for ind in (i for i in wanted if i.feed == feed):
                recompute_indicator(conn, ind)
                done += 1
                if progress is not None:
                    progress(ind)
    return done
