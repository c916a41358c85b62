"""Working-day arithmetic in SQL on both databases: PostgreSQL reads the calendar once per
statement and looks each day up by position, SQLite searches the table for it. On the same
calendar and the same instants both give the same working clock and the same day after a
number of working days, which for whole days is also the calendar's Python twin
(``WorkCalendar.add``); outside the calendar's years neither has an answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Engine, Float, Integer, MetaData, Table, insert, select
from tests.conftest import blank_database, prepared_runtime

from chiso.catalog.loader import Catalog
from chiso.clock import VIETNAM
from chiso.measurement.compile import work_clock, working_day_after

DAYS = (0.0, 0.5, 1.0, 3.0, 15.0)


def _instants() -> list[datetime]:
    """Every 5 hours across Tết 2026, the 2/9 bridge and a year's turn, and the edges."""
    out: list[datetime] = []
    for start, end in ((datetime(2025, 12, 24), datetime(2026, 3, 5)),
                       (datetime(2026, 8, 20), datetime(2026, 9, 12))):
        at = start.replace(tzinfo=UTC)
        while at < end.replace(tzinfo=UTC):
            out.append(at)
            at += timedelta(hours=5)
    out += [datetime(2014, 12, 31, 1, tzinfo=UTC), datetime(2040, 12, 30, 3, tzinfo=UTC),
            datetime(2041, 1, 2, 3, tzinfo=UTC)]
    return out


def _answers(engine: Engine) -> list[tuple[Any, ...]]:
    dialect = engine.dialect.name
    samples = Table("clock_samples", MetaData(), Column("n", Integer, primary_key=True),
                    Column("at", DateTime(timezone=True)), Column("days", Float))
    rows = [{"n": i, "at": at, "days": d}
            for i, (at, d) in enumerate((at, d) for at in _instants() for d in DAYS)]
    with engine.begin() as conn:
        samples.create(conn)
        conn.execute(insert(samples), rows)
        got = conn.execute(select(samples.c.n, samples.c.at, samples.c.days,
                                  work_clock(samples.c.at, dialect),
                                  working_day_after(samples.c.at, samples.c.days, dialect))
                           .order_by(samples.c.n)).all()
    return [(r[0], r[2], None if r[3] is None else round(float(r[3]), 6),
             None if r[4] is None else date.fromisoformat(str(r[4])[:10])) for r in got]


def test_both_databases_count_working_days_alike(catalog: Catalog, tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    assert catalog.calendar is not None
    lite = prepared_runtime(blank_database("sqlite", tmp_path, request), catalog)
    pg = prepared_runtime(blank_database("postgresql", tmp_path, request), catalog)
    try:
        on_sqlite, on_pg = _answers(lite.engine), _answers(pg.engine)
    finally:
        lite.engine.dispose()
        pg.engine.dispose()
    assert on_pg == on_sqlite
    instants = _instants()
    whole = 0
    for n, days, clock, after in on_pg:
        at = instants[n // len(DAYS)]
        local = at.astimezone(VIETNAM)
        if not date(2015, 1, 1) <= local.date() <= date(2040, 12, 31):
            assert (clock, after) == (None, None)
            continue
        assert clock is not None
        if after is None:  # moved past the calendar's last working day
            assert local.year == 2040
            continue
        if days >= 1 and days.is_integer() and local.hour > 0:
            assert after == catalog.calendar.add(local.date(), int(days)), (at, days)
            whole += 1
    assert whole > 500
