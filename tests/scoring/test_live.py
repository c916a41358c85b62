"""Scores on stored data, on both databases: records pushed through the real intake path, then
a score tree down to its inputs, stored ranks per period and a rank change explained."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.factories import feed_contract, monthly_dossier, send_months

from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest
from chiso.scoring.live import compute, previous_period, rank, unit_score
from chiso.store.tables import score_history, scores
from chiso.web import deps

TODAY = date(2026, 4, 10)
HOAN_KIEM, BA_DINH = "00070", "00004"


@pytest.fixture
def api(fresh_client: TestClient) -> TestClient:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    return fresh_client


def test_periods_and_ranks() -> None:
    assert previous_period("2026-03") == "2026-02"
    assert previous_period("2026-01") == "2025-12"
    assert previous_period("2026-Q1") == "2025-Q4"
    assert previous_period("2026") == "2025"
    assert previous_period("2026-YTD") is None
    assert rank({"a": 10, "b": 20, "c": 10, "d": 5}) == {"b": 1, "a": 2, "c": 2, "d": 4}


def test_score_tree_and_rank_change_explained(fresh_engine: Engine, catalog: Catalog,
                                              api: TestClient) -> None:
    # February: Hoàn Kiếm 10/10 on time, Ba Đình 5/10; March the other way round
    send_months(fresh_engine, HOAN_KIEM, {2: 10, 3: 5})
    send_months(fresh_engine, BA_DINH, {2: 5, 3: 10})

    with fresh_engine.connect() as conn:
        s = unit_score(conn, catalog, "dvc-766", HOAN_KIEM, "2026-03", TODAY)
    on_time = next(c for g in s["tree"]["children"] for c in g.get("children", [])
                   if c["code"] == "2.1")
    assert on_time["value"] == 50.0
    assert on_time["points"] == 10.0  # 20 × 50%
    assert on_time["formula"].startswith("20 × clamp((50 − 0) / (100 − 0))")
    assert on_time["input"] == {"indicator": "tthc.on_time_rate"}
    assert on_time["links"]["records"] == \
        "/api/v1/indicators/tthc.on_time_rate/records?period=2026-03&unit=00070"
    awaiting = next(c for g in s["tree"]["children"] for c in g.get("children", [])
                    if c["code"] == "1.1")
    assert awaiting["missing"] is True  # shown, never dropped
    assert awaiting["points"] == 0
    assert s["missing"] > 0

    for period in ("2026-02", "2026-03"):
        got = compute(fresh_engine, catalog, "dvc-766", period, TODAY)
        assert got["units"] > 126  # every commune and every department
    with fresh_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scores)).scalar_one() \
            == conn.execute(select(func.count()).select_from(score_history)).scalar_one()

    r = api.get("/api/v1/rankings/dvc-766", params={"kind": "commune", "period": "2026-03"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] is True
    assert body["previous_period"] == "2026-02"
    first, second = body["units"][:2]
    assert (first["unit"], first["rank"]) == (BA_DINH, 1)
    assert (second["unit"], second["rank"]) == (HOAN_KIEM, 2)
    assert first["previous"]["rank"] == 2
    assert first["rank_change"] == 1  # up one place
    assert second["rank_change"] == -1
    moved = {m["criterion"]: m for m in first["explanation"]}
    assert moved["2.1"]["delta"] == pytest.approx(10.0)  # 20 × (100% − 50%)
    assert moved["2.1"]["value_before"] == 50.0
    assert moved["2.1"]["value_now"] == 100.0
    assert second["points_change"] == pytest.approx(-first["points_change"])

    tree = api.get(f"/api/v1/scores/dvc-766/{HOAN_KIEM}", params={"period": "2026-03"}).json()
    assert tree["stored"] is True
    assert tree["rank"] == 2
    assert tree["points"] == pytest.approx(s["points"])
    assert api.get("/api/v1/scores/dvc-766/NOPE?period=2026-03").status_code == 404
    assert api.get("/api/v1/scores/nope/00070?period=2026-03").status_code == 404

    # values change: recomputing writes history only for the units whose score moved
    more = [monthly_dossier(900 + i, HOAN_KIEM, 3, True) for i in range(10)]  # March: 15 of 20
    assert ingest(fresh_engine, feed_contract("tthc.dossier"), more, Provenance("t", "push"),
                  b"{}", "application/json").accepted
    compute(fresh_engine, catalog, "dvc-766", "2026-03", TODAY, reason="values changed")
    with fresh_engine.connect() as conn:
        hist = conn.execute(select(score_history.c.unit, score_history.c.reason).where(
            score_history.c.period == "2026-03", score_history.c.reason == "values changed",
            score_history.c.kind == "commune")).all()
    assert {u for u, _ in hist} == {HOAN_KIEM}  # only Hoàn Kiếm's points moved (10 -> 15)
    with fresh_engine.connect() as conn:
        hk = conn.execute(select(scores.c.points, scores.c.rank).where(
            scores.c.unit == HOAN_KIEM, scores.c.period == "2026-03",
            scores.c.method == "dvc-766")).one()
    assert hk.rank == 2
    assert hk.points == pytest.approx(second["points"] + 5)


def test_plan_completion_reads_data_quality_and_tasks(fresh_engine: Engine,
                                                      catalog: Catalog) -> None:
    send_months(fresh_engine, HOAN_KIEM, {3: 9})
    with fresh_engine.connect() as conn:
        s = unit_score(conn, catalog, "plan-completion", HOAN_KIEM, "2026-03", TODAY)
    leaves = {c["code"]: c for g in s["tree"]["children"] for c in g.get("children", [])}
    assert 0 < leaves["targets.131"]["value"] < 1  # mean over the targets it implements
    assert "I.11: tthc.on_time_rate 90 / 98 → 0.92" in leaves["targets.131"]["source"]
    assert leaves["data.completeness"]["value"] is not None
    assert leaves["data.timeliness"]["input"] == {"data": "timeliness"}
    assert leaves["tasks.131"]["missing"] or "no evidence" in leaves["tasks.131"]["source"]
