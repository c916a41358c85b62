"""Integrity between units: through a door limited to some units a record never changes unit,
and one unit's uploads never collide with another's (on SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import dossier, feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.doors import ingest_file, upload_source
from chiso.intake.settings import IntakeSettings
from chiso.intake.sources import add_source
from chiso.store.tables import feed_tthc_dossier
from chiso_sim.files import dossier_csv

DOSSIER = feed_contract("tthc.dossier")
SETTINGS = IntakeSettings(pseudonym_key="unit-integrity-key")  # type: ignore[arg-type]
A, B = "00070", "00082"
PUSH = "/api/v1/feeds/tthc.dossier/records"


def _units_of(engine: Engine, record_id: str) -> dict[str, str]:
    t = feed_tthc_dossier
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.source, t.c.unit).where(t.c.record_id == record_id))
        return {str(r.source): str(r.unit) for r in rows}


def test_one_units_upload_never_moves_anothers_record(engine: Engine, catalog: Catalog) -> None:
    known = frozenset(catalog.units.units)
    rid = uid("HS")
    theirs = dossier_csv([dossier(0, id=rid, unit=B)])
    ok, _ = ingest_file(engine, DOSSIER, theirs, "b.csv", B, known, SETTINGS)
    assert ok.accepted, [str(p) for p in ok.problems]
    # Commune A sends B's record id with a later version: it is A's own record, B's stays.
    later = dossier(0, id=rid, unit=A, status="resolved",
                    resolved_at="2026-03-04T10:00:00+07:00", result_electronic=True,
                    updated_at="2026-03-04T10:00:00+07:00")
    mine, _ = ingest_file(engine, DOSSIER, dossier_csv([later]), "a.csv", A, known, SETTINGS)
    assert mine.accepted, [str(p) for p in mine.problems]
    assert _units_of(engine, rid) == {upload_source("upload", B): B,
                                      upload_source("upload", A): A}


def test_a_scoped_token_cannot_move_a_record_to_another_unit(
    client: TestClient, engine: Engine
) -> None:
    name, rid = uid("dvc"), uid("HS")
    token = add_source(engine, name, ["tthc.dossier"], [B])
    first = client.post(PUSH, json=[dossier(0, id=rid, unit=B)],
                        headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200, first.text
    token = add_source(engine, name, ["tthc.dossier"], [A])  # re-scoped to A
    moved = dossier(0, id=rid, unit=A, updated_at="2026-03-03T09:00:00+07:00")
    answer = client.post(PUSH, json=[dossier(1, id=uid("HS"), unit=A), moved],
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["problems"]
    assert (problem["index"], problem["field"], problem["record_id"]) == (1, "unit", rid)
    assert B in problem["message"]
    assert _units_of(engine, rid) == {name: B}  # nothing of the batch was stored


def test_a_city_wide_source_may_still_correct_a_records_unit(
    client: TestClient, engine: Engine
) -> None:
    name, rid = uid("dvc"), uid("HS")
    token = add_source(engine, name, ["tthc.dossier"], None)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(PUSH, json=[dossier(0, id=rid, unit=B)], headers=headers)\
        .status_code == 200
    fixed = dossier(0, id=rid, unit=A, updated_at="2026-03-03T09:00:00+07:00")
    assert client.post(PUSH, json=[fixed], headers=headers).status_code == 200
    assert _units_of(engine, rid) == {name: A}
