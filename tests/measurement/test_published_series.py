"""A series of published figures read in one query (``values.published_series``, what the
outlooks' monthly series use) equals reading each period with ``values``: months, quarters,
ranges, the year to date; the city, one unit, a group and each unit; a later figure typed by
hand for a period a system published; a yearly figure published before its year is over. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.factories import feed_contract

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement import values as mv

CODE = "stats.vneid_share"


def _stat(unit: str, period: str, num: float, at: str, den: float = 100.0) -> dict[str, Any]:
    return {"indicator": "vneid_share", "unit": unit, "period": period, "value": num / den,
            "numerator": num, "denominator": den, "source_ref": "C06", "published_at": at}


def _send(engine: Engine, records: list[dict[str, Any]], manual: bool = False) -> None:
    how = (Provenance("steward", "file", manual=True, evidence_sha256="ab" * 32) if manual
           else Provenance("c06", "push"))
    out = ingest(engine, feed_contract("stats.value"), records, how, b"{}", "application/json")
    assert out.accepted, out.as_dict()


def test_one_query_equals_a_read_per_period(fresh_engine: Engine, catalog: Catalog) -> None:
    _send(fresh_engine, [
        *(_stat("00070", f"2026-{m:02d}", 60 + 3 * m, f"2026-{m + 1:02d}-05T00:00:00+07:00")
          for m in range(1, 11)),
        *(_stat("00004", f"2026-{m:02d}", 40 + m, f"2026-{m + 1:02d}-06T00:00:00+07:00")
          for m in (1, 2, 4, 7, 8)),
        _stat("00070", "2026-Q1", 70, "2026-04-10T00:00:00+07:00"),
        _stat("00004", "2026-Q3", 55, "2026-10-10T00:00:00+07:00"),
        _stat("UBNDTP", "2026", 88, "2026-11-15T00:00:00+07:00"),  # before the year is over
        _stat("00070", "2025-12", 50, "2026-01-05T00:00:00+07:00")])
    # typed by hand later for a month a system published: never outranks it
    _send(fresh_engine, [_stat("00070", "2026-05", 10, "2026-07-01T00:00:00+07:00"),
                         _stat("00004", "2026-09", 47, "2026-10-03T00:00:00+07:00")],
          manual=True)
    m = catalog.measurement
    assert m is not None
    months = [f"2026-{i:02d}" for i in range(1, 13)]
    ranges = ["2026-01-01..2026-11-20", "2026-Q1", "2026-Q4", "2026-H2", "2026", "2025-12",
              "2026-01-01..2026-06-30"]
    group = next(g for g in catalog.units.groups if "00070" in catalog.units.expand(g))
    asks: list[tuple[str | None, mv.Level, list[str] | None]] = [
        (None, "city", None), ("00070", "unit", None), ("00004", "unit", None),
        (group, "unit", catalog.units.expand(group)), (None, "units", None),
        (None, "units", ["00070"])]
    with fresh_engine.connect() as conn:
        for today in (date(2026, 11, 20), date(2027, 1, 10)):
            for unit, level, members in asks:
                for periods in (months, ranges, ytd := [f"2026-01-01..{today.isoformat()}"]):
                    got = mv.published_series(conn, m, CODE, periods, unit, level, members,
                                              today=today)
                    each = [mv.values(conn, m, CODE, p, unit, level, members, today=today)
                            for p in periods]
                    assert got == each, (today, unit, level, periods)
                    if periods is not ytd:
                        assert any(v for v in each), (today, unit, level)  # not all empty
        may = mv.published_series(conn, m, CODE, ["2026-05"], "00070", today=date(2026, 11, 20))
        assert may is not None
        assert may[0][0].value == pytest.approx(75.0)  # the system's
        assert mv.published_series(conn, m, "tthc.on_time_rate", months) is None
