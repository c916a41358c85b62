"""Dossiers sent through intake, for the tests of scores' intervals and record owners."""

from __future__ import annotations

from sqlalchemy import Engine
from tests.factories import feed_contract, monthly_dossier

from chiso.intake.pipeline import Provenance, ingest


def _send(engine: Engine, unit: str, month: int, total: int, on_time: int) -> None:
    records = [monthly_dossier(month * 10_000 + i, unit, month, i < on_time) for i in range(total)]
    out = ingest(engine, feed_contract("tthc.dossier"), records, Provenance("t", "push"), b"{}",
                 "application/json")
    assert out.accepted, out.as_dict()
