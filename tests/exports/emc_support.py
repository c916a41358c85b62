"""Dossiers sent for two communes, as the EMC exporter's and the webhooks' tests need them."""

from __future__ import annotations

from sqlalchemy import Engine
from tests.factories import feed_contract, monthly_dossier

from chiso.intake.pipeline import Provenance, ingest

HOAN_KIEM, BA_DINH = "00070", "00004"


def send(engine: Engine, unit: str, ids: range, on_time: bool, month: int = 3) -> None:
    records = [monthly_dossier(i, unit, month, on_time) for i in ids]
    out = ingest(engine, feed_contract("tthc.dossier"), records, Provenance("t", "push"), b"{}",
                 "application/json")
    assert out.accepted, out.as_dict()
