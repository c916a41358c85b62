"""A data steward scoped to one unit sees only that unit's batches and raw payloads; a
city-wide steward sees every one; reading a raw payload is audited with the pseudonyms of the
people it concerns, accepted or refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import UNIT_A, UNIT_B, bearer, dossier, uid

from chiso.intake.sources import add_source
from chiso.store.tables import audit_log
from chiso_sim.files import dossier_csv

BATCHES = "/api/v1/intake/batches"


def test_a_unit_steward_reaches_only_its_units_batches_and_payloads(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    city = bearer(make_user("data_steward")[1])
    shas = {}
    for unit in (UNIT_A, UNIT_B):
        data = dossier_csv([dossier(0, id=uid("HS"), unit=unit)])
        r = app_client.post("/intake/upload", data={"feed": "tthc.dossier", "unit": unit},
                            files={"file": ("hs.csv", io.BytesIO(data))}, headers=city)
        assert r.status_code == 200, r.text
    for b in app_client.get(BATCHES, headers=city).json():
        shas[b["unit"]] = b["raw_sha256"]
    token = add_source(fresh_engine, "dvc", ["tthc.dossier"], None)
    pushed = app_client.post("/api/v1/feeds/tthc.dossier/records", json=[dossier(5)],
                             headers=bearer(token)).json()["raw_sha256"]
    assert set(shas) == {UNIT_A, UNIT_B}
    mine = bearer(make_user("data_steward", UNIT_A)[1])
    listed = app_client.get(BATCHES, headers=mine)
    assert listed.status_code == 200
    assert {b["unit"] for b in listed.json()} == {UNIT_A}
    assert app_client.get(BATCHES, params={"unit": UNIT_B}, headers=mine).status_code == 403
    assert app_client.get(f"/api/v1/intake/raw/{shas[UNIT_A]}", headers=mine)\
        .status_code == 200
    for sha in (shas[UNIT_B], pushed):
        assert app_client.get(f"/api/v1/intake/raw/{sha}", headers=mine).status_code == 404
        assert app_client.get(f"/api/v1/intake/raw/{sha}", headers=city).status_code == 200


def test_reading_a_raw_payload_is_audited_with_the_people_it_concerns(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    name, token = make_user("data_steward")
    steward = bearer(token)
    person = "Nguyễn Thị Hồng Nhung"
    shas = []
    for status in ("Đang xử lý", "Không rõ"):  # accepted, then refused on its status
        data = dossier_csv([dossier(0, id=uid("HS"), unit=UNIT_A, applicant_name=person,
                                    status=status)])
        r = app_client.post("/intake/upload", data={"feed": "tthc.dossier", "unit": UNIT_A},
                            files={"file": ("hs.csv", io.BytesIO(data))}, headers=steward)
        assert r.status_code == (200 if status == "Đang xử lý" else 422), r.text
        shas.append(app_client.get(BATCHES, headers=steward).json()[0]["raw_sha256"])
    items = app_client.get("/api/v1/records/tthc.dossier", params={"unit": UNIT_A},
                           headers=steward).json()["items"]
    [pseudonym] = {i["applicant_name"] for i in items}
    assert len(pseudonym) == 64
    for sha in shas:
        assert app_client.get(f"/api/v1/intake/raw/{sha}", headers=steward).status_code == 200
    with fresh_engine.connect() as conn:
        reads = conn.execute(select(audit_log.c.subjects).where(
            audit_log.c.actor == f"user:{name}",
            audit_log.c.action == "GET /api/v1/intake/raw/{sha256}")).scalars().all()
    assert len(reads) == 2
    assert all(pseudonym in (s or "") for s in reads)  # before: no subjects
