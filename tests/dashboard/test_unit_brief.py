"""A unit's page opens for its own officers on what concerns the unit: its rank and score in
each method with the change and why, its targets at risk with their sentences, its overdue
tasks, and whether its own feeds were complete and on time; the indicator table follows."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from tests.conftest import role_headers
from tests.dashboard.first_screen_data import BA_DINH, HOAN_KIEM, TODAY, _on, _push

from chiso.context import Runtime
from chiso.outlook import answers as outlook
from chiso.scoring import live as score_live


@pytest.fixture
def fed(fresh_client: TestClient, fresh_runtime: Runtime) -> TestClient:
    """Hoàn Kiếm led in February and falls in March; February's scores are stored."""
    _push(fresh_client, fresh_runtime.engine, HOAN_KIEM, {2: 10, 3: 2})
    _push(fresh_client, fresh_runtime.engine, BA_DINH, {2: 2, 3: 10})
    score_live.compute(fresh_runtime.engine, fresh_runtime.catalog, "dvc-766", "2026-02", TODAY)
    return _on(fresh_client, TODAY)


def test_the_brief_says_rank_risks_tasks_and_feeds(fed: TestClient, fresh_runtime: Runtime
                                                  ) -> None:
    officer = role_headers(fresh_runtime.engine, "unit_officer", HOAN_KIEM)
    brief = fed.get(f"/api/v1/units/{HOAN_KIEM}/brief", headers=officer).json()
    assert brief["month"] == "2026-03"
    assert brief["kind"] == "commune"
    place = next(p for p in brief["places"] if p["method"] == "dvc-766")
    assert place["rank_change"] < 0  # it fell behind Ba Đình
    assert place["why"]
    assert place["why"][0]["delta"] < 0
    assert place["of"] >= 126
    # Targets at risk: the outlook for the unit says so, with its sentence.
    for r in brief["risks"]:
        with fresh_runtime.engine.connect() as conn:
            o = outlook.target_outlook(conn, fresh_runtime.catalog, r["plan"], r["target"],
                                       HOAN_KIEM, TODAY)
        assert o.flagged
        assert r["sentence"]["vi"] == o.sentence.vi
    with fresh_runtime.engine.connect() as conn:
        warned = outlook.task_warnings(conn, fresh_runtime.catalog, HOAN_KIEM, TODAY)
    assert {(o["plan"], o["task"]) for o in brief["overdue"]} == {
        (w.plan, w.task) for w in warned.warnings if w.kind == "overdue"}
    # Its dossiers came for one day of March: incomplete for a feed owed every working day.
    dossiers = next(f for f in brief["feeds"] if f["feed"] == "tthc.dossier")
    assert dossiers["records"] == 10
    assert dossiers["complete"] is False
    assert 0 < dossiers["completeness"] < 1


def test_an_officer_reads_only_their_own_units_brief(fed: TestClient, fresh_runtime: Runtime
                                                     ) -> None:
    officer = role_headers(fresh_runtime.engine, "unit_officer", HOAN_KIEM)
    assert fed.get(f"/api/v1/units/{BA_DINH}/brief", headers=officer).status_code == 404
    assert fed.get(f"/api/v1/units/{HOAN_KIEM}/brief").status_code == 401
    leader = role_headers(fresh_runtime.engine, "leader")
    assert fed.get("/api/v1/units/99999/brief", headers=leader).status_code == 404


def test_the_unit_page_opens_on_the_brief_then_the_indicators(fed: TestClient,
                                                              fresh_runtime: Runtime) -> None:
    officer = role_headers(fresh_runtime.engine, "unit_officer", HOAN_KIEM)
    page = fed.get(f"/units/{HOAN_KIEM}", headers=officer).text
    assert page.index('id="unit-brief"') < page.index('id="unit-indicators"')
    assert "Tình hình của đơn vị, Tháng 3/2026" in page
    assert 'data-method="dvc-766"' in page
    assert "▼" in page  # the fall, by shape as well as colour
    assert 'data-feed="tthc.dossier" data-complete="false"' in page
    # The public sees ranks, risks and tasks, not the unit's data accountability.
    public = fed.get(f"/units/{HOAN_KIEM}").text
    assert 'id="unit-brief"' in public
    assert 'id="unit-feeds"' not in public
    assert "The unit at a glance" in fed.get(f"/units/{HOAN_KIEM}?lang=en").text


def test_a_young_month_opens_on_the_last_complete_one(fed: TestClient, fresh_runtime: Runtime
                                                      ) -> None:
    leader = role_headers(fresh_runtime.engine, "leader")
    brief = _on(fed, date(2026, 4, 2)).get(f"/api/v1/units/{HOAN_KIEM}/brief",
                                           headers=leader).json()
    assert brief["month"] == "2026-03"
