"""The commune's economy on the map: GRDP at current prices and its growth at comparable prices
as layers beside the digital-transformation scores, the map's period read as the GRDP period it
names; figures in through the real intake path, on both databases. Expected numbers are worked
out by hand in the comments."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import feed_contract

from chiso.intake.pipeline import Provenance, ingest
from chiso.web import deps

A, B = "00070", "00004"
TODAY = date(2026, 11, 20)


def _fig(unit: str, period: str, basis: str, value: float) -> dict[str, Any]:
    return {"unit": unit, "period": period, "sector": "TOTAL", "price_basis": basis,
            "value": value, "release": f"Thông cáo {period}",
            "released_at": "2026-10-25T09:00:00+07:00"}


def test_grdp_layers_on_the_map(fresh_client: TestClient, fresh_engine: Engine) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    out = ingest(fresh_engine, feed_contract("stats.grdp"), [
        _fig(A, "2025-Q3", "comparable", 1000.0), _fig(A, "2026-Q3", "comparable", 1080.0),
        _fig(B, "2025-Q3", "comparable", 2000.0), _fig(B, "2026-Q3", "comparable", 2030.0),
        _fig(A, "2026-Q3", "current", 1400.0), _fig(B, "2026-Q3", "current", 2900.0),
        _fig(A, "2026-9T", "current", 4100.0)], Provenance("thongke", "push"), b"{}",
        "application/json")
    assert out.accepted, out.problems
    got = fresh_client.get("/api/v1/map", params={"measure": "grdp:growth",
                                                  "period": "2026-Q3"}).json()
    values = {c["code"]: c["value"] for c in got["communes"] if c["value"] is not None}
    # A: 1080 / 1000 - 1 = +8%; B: 2030 / 2000 - 1 = +1.5%
    assert values == {A: pytest.approx(8.0), B: pytest.approx(1.5)}
    assert got["unit_of_measure"] == "%"
    assert "2026-Q3" in got["name_vi"]
    # A month names the latest quarter ended by its last day: 2026-Q3 on 30/11/2026.
    month = fresh_client.get("/api/v1/map", params={"measure": "grdp:value",
                                                    "period": "2026-11"}).json()
    assert {c["code"]: c["value"] for c in month["communes"] if c["value"] is not None} == {
        A: 1400.0, B: 2900.0}
    # A quarter not yet ended by the period: nothing to show, every commune without data.
    early = fresh_client.get("/api/v1/map", params={"measure": "grdp:value",
                                                    "period": "2026-08"}).json()
    assert all(c["value"] is None for c in early["communes"])
    assert fresh_client.get("/api/v1/map", params={"measure": "grdp:nope"}).status_code == 404
    page = fresh_client.get("/map", params={"measure": "grdp:growth", "period": "2026-Q3",
                                            "lang": "vi"}).text
    assert "Kinh tế xã, phường (GRDP, số liệu thống kê công bố)" in page
    assert '<td class="num">8%</td>' in page
    assert '<td class="num">1,5%</td>' in page
    commune = fresh_client.get(f"/units/{A}", params={"lang": "vi"}).text
    assert "grdp" in commune.lower()
