"""The outlook on stored data, on both databases: records pushed through the real intake path,
then a target's outlook at a unit (status, forecast, progress measure, Vietnamese sentence),
and task warnings, through the API."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import send_months

from chiso.catalog.loader import Catalog
from chiso.outlook.live import target_outlook, unit_task_warnings
from chiso.web import deps

TODAY = date(2026, 7, 20)


@pytest.fixture
def api(fresh_client: TestClient) -> TestClient:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    return fresh_client


def test_target_outlook_at_a_unit(fresh_engine: Engine, catalog: Catalog,
                                  api: TestClient) -> None:
    # Hoàn Kiếm: on-time share stuck around 80–90%, far below the 98% target of I.11
    send_months(fresh_engine, "00070", {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})
    with fresh_engine.connect() as conn:
        got = target_outlook(conn, catalog, "131/KH-UBND", "I.11", "00070", TODAY)
    assert got["indicator"] == "tthc.on_time_rate"
    assert [p["value"] for p in got["series"]] == [80.0, 90.0, 80.0, 90.0, 80.0, 90.0, 80.0]
    assert got["status"] == "chậm tiến độ"
    assert got["flagged"] is True
    fc = got["forecast"]
    # ten dossiers a month: judged by its counts (8 or 9 of 10), not a smooth trend
    assert fc["method"] == "pooled_counts"
    assert fc["low"] <= fc["value"] <= fc["high"]
    assert got["progress"]["category"] in ("limited_progress", "deterioration",
                                           "moderate_progress", "undetermined")
    vi = got["sentence"]["vi"]
    assert vi.startswith("Phường Hoàn Kiếm dự kiến đạt ")
    # I.11 is judged on the year to date: the forecast is the year's share of its dossiers
    assert fc["pooled"] is True
    # the share so far at each month, which the forecast continues: 59 of 70 by July
    assert got["series"][-1]["to_date"] == pytest.approx(100 * 59 / 70)
    assert got["series"][0]["to_date"] == 80.0
    assert "tính chung từ 01/01/2026 đến 31/12/2026, thiếu " in vi
    assert "so với chỉ tiêu 98%" in vi
    # Vietnamese number forms: a decimal comma, never a point
    value = f"{round(fc['value'], 1):.1f}".rstrip("0").rstrip(".").replace(".", ",")
    assert f"đạt {value}%" in vi
    assert "short of the 98% target" in got["sentence"]["en"]

    r = api.get("/api/v1/plans/131-KH-UBND/targets/I.11/outlook", params={"unit": "00070"})
    assert r.status_code == 200, r.text
    assert r.json()["sentence"]["vi"] == vi
    # the city: the same records rolled up
    city = api.get("/api/v1/plans/131-KH-UBND/targets/I.11/outlook").json()
    assert city["unit_name"] == "Thành phố Hà Nội"
    assert city["status"] == "chậm tiến độ"
    # a unit with no data: not enough data, said as such
    none = api.get("/api/v1/plans/131-KH-UBND/targets/I.11/outlook",
                   params={"unit": "00004"}).json()
    assert none["status"] == "thiếu dữ liệu"
    assert "chưa đủ dữ liệu" in none["sentence"]["vi"]
    published = api.get("/api/v1/plans/131-KH-UBND/targets/I.1/outlook").json()
    assert published["indicator"] == "stats.agencies_ai_use_share"  # no longer awaiting
    assert published["status"] == "thiếu dữ liệu"  # bound, nothing published yet
    assert api.get("/api/v1/plans/131-KH-UBND/targets/I.11/outlook",
                   params={"unit": "NOPE"}).status_code == 404


def test_task_warnings(fresh_engine: Engine, catalog: Catalog, api: TestClient) -> None:
    with fresh_engine.connect() as conn:
        city = unit_task_warnings(conn, catalog, None, TODAY, 30)
        sokhcn = unit_task_warnings(conn, catalog, "SKHCN", TODAY, 30)
    assert city["evidence"]["stored"] is True
    assert city["warnings"], "the catalog has dated tasks past 20/07/2026"
    assert {w["kind"] for w in city["warnings"]} <= {
        "overdue", "due_soon_no_evidence", "milestone_slipping"}
    assert 0 < sokhcn["tasks"] < city["tasks"]
    r = api.get("/api/v1/tasks/warnings", params={"unit": "SKHCN", "days": 30})
    assert r.status_code == 200, r.text
    assert r.json()["counts"] == sokhcn["counts"]


def test_target_page_draws_the_share_it_is_judged_on(fresh_engine: Engine,
                                                     api: TestClient) -> None:
    # I.11 is judged on the year's share: the chart's line is that share to date (which the
    # dashed forecast continues), and its caption says so
    send_months(fresh_engine, "00070", {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})
    page = api.get("/plans/131-KH-UBND/targets/I.11", params={"lang": "vi"}).text
    assert "tính chung từ đầu kỳ đến từng tháng" in page
    found = re.search(r'data-chart="trend".*?<script type="application/json">(.*?)</script>',
                      page, re.S)
    assert found is not None
    drawn = [v for v in json.loads(found.group(1))["value"] if v is not None]
    assert drawn[0] == 80.0
    assert drawn[-1] == pytest.approx(100 * 59 / 70)  # not July's own 80%
