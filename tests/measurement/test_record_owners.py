"""Targets measured on records every department and commune handles (III.6a, III.6b,
III.13) have per-unit values for the unit on the records, not only for the implementing
unit (the public administration centre): in the progress answer, the unit's score and a
unit's report. On SQLite and on PostgreSQL, through the real intake path."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import feed_contract, monthly_dossier
from tests.scoring.interval_data import _send as send_dossiers

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.scoring.live import unit_score
from chiso.web import deps

TODAY = date(2026, 4, 10)
COMMUNE, DEPARTMENT = "00070", "SYT"


@pytest.fixture
def api(fresh_client: TestClient) -> TestClient:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    return fresh_client


def test_per_unit_values_come_from_the_unit_on_the_records(
        fresh_engine: Engine, catalog: Catalog, api: TestClient) -> None:
    send_dossiers(fresh_engine, COMMUNE, 3, 4, 4)
    offline = [{**monthly_dossier(7000 + i, DEPARTMENT, 3, True), "channel": "direct",
                "fully_online": False} for i in range(4)]
    out = ingest(fresh_engine, feed_contract("tthc.dossier"), offline, Provenance("t", "push"),
                 b"{}", "application/json")
    assert out.accepted
    for target in ("III.6a", "III.6b"):
        body = api.get(f"/api/v1/plans/131-KH-UBND/targets/{target}/progress").json()
        assert body["level"] == "records"
        units = {v["unit"] for v in body["indicators"][0]["values"]}
        assert units == {None, COMMUNE, DEPARTMENT}  # the city and the two on the records
    body = api.get("/api/v1/plans/131-KH-UBND/targets/III.6a/progress").json()
    got = {v["unit"]: v["value"] for v in body["indicators"][0]["values"]}
    assert got == {None: 50.0, COMMUNE: 100.0, DEPARTMENT: 0.0}

    # the commune implements none of them, yet its targets criterion now counts III.6a
    with fresh_engine.connect() as conn:
        s = unit_score(conn, catalog, "plan-completion", COMMUNE, "2026-03", TODAY)
    leaves = {c["code"]: c for g in s["tree"]["children"] for c in g.get("children", [])}
    assert "III.6a: tthc.online_dossier_rate 100 / 80" in leaves["targets.131"]["source"]
    with fresh_engine.connect() as conn:
        s = unit_score(conn, catalog, "plan-completion", DEPARTMENT, "2026-03", TODAY)
    leaves = {c["code"]: c for g in s["tree"]["children"] for c in g.get("children", [])}
    assert "III.6a: tthc.online_dossier_rate 0 / 80" in leaves["targets.131"]["source"]


def test_records_level_refuses_published_figures(tmp_path, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from chiso.catalog.errors import CatalogError
    from chiso.catalog.loader import DEFAULT_DATA_DIR, load_catalog

    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    path = data / "indicators" / "bindings-131.yaml"
    text = path.read_text(encoding="utf-8")
    old = '''  - target: "III.1a"
    indicators: [stats.vneid_share]
    level: city'''
    assert old in text
    path.write_text(text.replace(old, old.replace("level: city", "level: records")),
                    encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(data)
    assert "level records needs indicators over source records" in str(err.value)
