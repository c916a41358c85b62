"""Dossiers due on given days and the values read from them, for the tests of what has
come due (shared by several test modules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from tests.factories import dossier, feed_contract

from chiso.catalog.indicators import Measurement
from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement.values import Value, values


def _m(catalog: Catalog) -> Measurement:
    assert catalog.measurement is not None
    return catalog.measurement


def _dossier(i: str, unit: str, due: str, **over: Any) -> dict[str, Any]:
    """Received on 25/11/2026, due on ``due``, still being processed."""
    return dossier(0, **{"id": i, "unit": unit, "procedure": "1.001",
                         "received_at": "2026-11-25T08:30:00+07:00",
                         "due_at": f"{due}T17:00:00+07:00",
                         "updated_at": "2026-11-26T10:00:00+07:00", **over})


def _resolved(at: str, status: str = "resolved") -> dict[str, Any]:
    return {"status": status, "resolved_at": at, "updated_at": at}


def _send(engine: Engine, feed: str, records: list[dict[str, Any]]) -> None:
    out = ingest(engine, feed_contract(feed), records, Provenance("t", "push"), b"{}",
                 "application/json")
    assert out.accepted, out.as_dict()


def _city(engine: Engine, catalog: Catalog, code: str, period: str,
          at: datetime | None) -> Value:
    with engine.connect() as conn:
        [v] = values(conn, _m(catalog), code, period, at=at)
    return v


def _units(engine: Engine, catalog: Catalog, code: str, period: str,
           at: datetime) -> dict[str | None, float | None]:
    with engine.connect() as conn:
        return {v.unit: v.value for v in values(conn, _m(catalog), code, period,
                                                level="units", at=at)}
