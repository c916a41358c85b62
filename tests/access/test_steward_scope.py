"""A data steward scoped to one unit sees only that unit's batches and raw payloads; a
city-wide steward sees every one (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import UNIT_A, UNIT_B, bearer, dossier, uid

from chiso.intake.sources import add_source
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
