"""A series of months of the day state read in two queries (``values.month_series``, what the
outlooks' monthly series use) equals reading each month with ``values``: counts and shares,
records not yet due left out as of the feed's last batch and as of a later day, the city, one
unit and a group; and it declines what it does not read (a distinct count, a period that is not
a month, one value per unit). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from tests.factories import dossier, monthly_dossier, send

from chiso.catalog.loader import Catalog
from chiso.measurement import values as mv

CODES = ["tthc.on_time_rate", "tthc.dossiers_received", "tthc.online_dossier_rate",
         "tthc.satisfaction_index"]


def test_two_queries_equal_a_read_a_month(fresh_engine: Engine, catalog: Catalog) -> None:
    records = [monthly_dossier(month * 100 + i, unit, month, on_time=i % 3 != 0,
                               channel="online" if i % 2 else "direct")
               for unit, months in (("00070", range(1, 12)), ("00004", (2, 3, 7, 8, 11)))
               for month in months for i in range(6 if unit == "00070" else 4)]
    # Not resolved, due after the feed's last batch (the clock's now: the batch's commit
    # time): not yet due, left out; dated from the real day so that they always are.
    now = datetime.now(UTC)
    records += [dossier(900 + i, id=f"HS-OPEN-{i}", unit="00070",
                        received_at=(now - timedelta(days=2)).isoformat(),
                        due_at=(now + timedelta(days=10 + 30 * i)).isoformat(),
                        updated_at=(now - timedelta(days=1)).isoformat()) for i in range(3)]
    send(fresh_engine, "tthc.dossier", records)
    m = catalog.measurement
    assert m is not None
    last = (now + timedelta(days=80)).date()
    months = [f"{y}-{mo:02d}" for y in range(2026, last.year + 1) for mo in range(1, 13)
              if (y, mo) <= (last.year, last.month)]
    group = next(g for g in catalog.units.groups if "00070" in catalog.units.expand(g))
    asks: list[tuple[str | None, mv.Level, list[str] | None]] = [
        (None, "city", None), ("00070", "unit", None), ("00004", "unit", None),
        (group, "unit", catalog.units.expand(group))]
    with fresh_engine.connect() as conn:
        for code in CODES:
            for today in (date(2026, 11, 20), last):
                for unit, level, members in asks:
                    got = mv.month_series(conn, m, code, months, unit, level, members,
                                          today=today)
                    each = [mv.values(conn, m, code, p, unit, level, members, today=today)
                            for p in months]
                    assert got == each, (code, today, unit)
                    if code != "tthc.satisfaction_index":
                        assert any(v for v in each), (code, today, unit)  # not all empty
        assert mv.month_series(conn, m, "tthc.procedures_with_dossiers", months) is None
        assert mv.month_series(conn, m, CODES[0], ["2026-Q1"]) is None
        assert mv.month_series(conn, m, CODES[0], months, level="units") is None
