"""Feedback handled within 15 working days (QĐ 766): counted in Vietnamese working days from
receipt, judged only once the 15 working days have run out or the feedback is closed; on
SQLite and on PostgreSQL, through the real intake path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from tests.factories import feed_contract

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement.recompute import recompute
from chiso.measurement.values import values

CODE = "ihanoi.feedback_closed_within_15_working_days_rate"


def _fb(i: str, unit: str, closed: str | None) -> dict[str, Any]:
    # received Mon 09/02/2026: 15 working days later, Tết (16-20/02) skipped, is Mon 09/03
    return {"id": i, "unit": unit, "received_at": "2026-02-09T09:00:00+07:00",
            "due_at": "2026-02-20T09:00:00+07:00", "closed_at": closed, "published": True,
            "satisfied": None, "updated_at": closed or "2026-02-09T09:00:00+07:00"}


def _units(engine: Engine, catalog: Catalog, at: datetime) -> dict[str | None, float | None]:
    assert catalog.measurement is not None
    with engine.connect() as conn:
        return {v.unit: v.value for v in values(conn, catalog.measurement, CODE, "2026-02",
                                                level="units", at=at)}


def test_fifteen_working_days(fresh_engine: Engine, catalog: Catalog) -> None:
    out = ingest(fresh_engine, feed_contract("ihanoi.feedback"), [
        _fb("F1", "00070", "2026-03-06T16:00:00+07:00"),  # day 14: in time (calendar: late)
        _fb("F2", "00004", "2026-03-10T09:00:00+07:00"),  # day 16: late
        _fb("F3", "00008", None),  # open
    ], Provenance("t", "push"), b"{}", "application/json")
    assert out.accepted, out.as_dict()
    before = _units(fresh_engine, catalog, datetime(2026, 3, 5, 3, tzinfo=UTC))
    assert before == {"00070": 100.0, "00004": 0.0}  # F3 still has time
    after = _units(fresh_engine, catalog, datetime(2026, 3, 10, 3, tzinfo=UTC))
    assert after == {"00070": 100.0, "00004": 0.0, "00008": 0.0}
    recompute(fresh_engine, catalog.measurement, [CODE])
    assert _units(fresh_engine, catalog, datetime(2026, 3, 10, 3, tzinfo=UTC)) == after
