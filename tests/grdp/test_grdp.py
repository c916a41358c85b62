"""Commune GRDP (QĐ 3060): growth at comparable prices against the same period a year earlier,
structure at current prices, the reconciliation of communes with the city total (the gap
shown), revisions kept in history; figures in through the real intake path, on both databases.
Expected numbers are worked out by hand in the comments."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import feed_contract

from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement import grdp

A, B, CITY = "00070", "00004", "UBNDTP"
FIRST = "2026-04-20T09:00:00+07:00"


def _fig(unit: str, period: str, sector: str, basis: str, value: float,
         release: str = "Thông cáo quý I/2026", at: str = FIRST) -> dict[str, Any]:
    return {"unit": unit, "period": period, "sector": sector, "price_basis": basis,
            "value": value, "release": release, "released_at": at}


def _send(engine: Engine, records: list[dict[str, Any]]) -> Any:
    return ingest(engine, feed_contract("stats.grdp"), records, Provenance("thongke", "push"),
                  b"{}", "application/json")


def test_growth_structure_reconciliation_and_revision(fresh_engine: Engine) -> None:
    assert _send(fresh_engine, [
        _fig(A, "2025-Q1", "TOTAL", "comparable", 1180.5, "Thông cáo quý I/2025",
             "2025-04-20T09:00:00+07:00"),
        _fig(A, "2026-Q1", "TOTAL", "comparable", 1254.3),
        _fig(A, "2025-9T", "TOTAL", "comparable", 3600.0, "Thông cáo 9 tháng 2025",
             "2025-10-20T09:00:00+07:00"),
        _fig(A, "2026-9T", "TOTAL", "comparable", 3852.0, "Thông cáo 9 tháng 2026",
             "2026-10-20T09:00:00+07:00"),
        _fig(A, "2026-Q1", "TOTAL", "current", 1500.0),
        _fig(A, "2026-Q1", "KV1", "current", 30.0),
        _fig(A, "2026-Q1", "KV2", "current", 450.0),
        _fig(A, "2026-Q1", "KV3", "current", 900.0),
        _fig(A, "2026-Q1", "TSP", "current", 120.0),
        _fig(B, "2026-Q1", "TOTAL", "current", 3400.0),
        _fig(CITY, "2026-Q1", "TOTAL", "current", 5000.0),
    ]).accepted
    with fresh_engine.connect() as conn:
        # 1254.3 / 1180.5 = 1.0625159…: +6.2516%
        assert grdp.growth(conn, A, "2026-Q1") == pytest.approx(6.2516, abs=1e-4)
        # 3852 / 3600 = 1.07: +7% over nine months
        assert grdp.growth(conn, A, "2026-9T") == pytest.approx(7.0)
        assert grdp.growth(conn, B, "2026-Q1") is None  # no comparable figures published
        # 30, 450, 900, 120 of 1500: 2%, 30%, 60%, 8%
        assert grdp.structure(conn, A, "2026-Q1") == pytest.approx(
            {"KV1": 2.0, "KV2": 30.0, "KV3": 60.0, "TSP": 8.0})
        # communes 1500 + 3400 = 4900 against a city total of 5000: a gap of 100 (2%)
        rec = grdp.reconcile(conn, "2026-Q1")
        assert (rec.city, rec.communes, rec.communes_reporting) == (5000.0, 4900.0, 2)
        assert rec.gap == pytest.approx(100.0)
        assert rec.gap_pct == pytest.approx(2.0)
    # The office revises Q1/2026 in the next release: the revision replaces it, both kept.
    assert _send(fresh_engine, [
        _fig(A, "2026-Q1", "TOTAL", "comparable", 1260.0, "Thông cáo quý II/2026 (điều chỉnh)",
             "2026-07-20T09:00:00+07:00")]).accepted
    with fresh_engine.connect() as conn:
        # 1260 / 1180.5 = 1.0673443…: +6.7344%
        assert grdp.growth(conn, A, "2026-Q1") == pytest.approx(6.7344, abs=1e-4)
        releases = grdp.history(conn, A, "2026-Q1", "TOTAL", "comparable")
    assert [(r, v) for r, _, v in releases] == [
        ("Thông cáo quý I/2026", 1254.3), ("Thông cáo quý II/2026 (điều chỉnh)", 1260.0)]


def test_a_figure_outside_the_breakdown_is_refused_naming_the_field(fresh_engine: Engine
                                                                    ) -> None:
    out = _send(fresh_engine, [_fig(A, "2026-Q5", "TOTAL", "current", 1.0),
                               _fig(A, "2026-Q1", "Z", "current", 1.0),
                               _fig(A, "2026-Q1", "KV1", "market", 1.0)])
    assert not out.accepted
    text = str(out.as_dict())
    for name in ("period", "sector", "price_basis"):
        assert name in text
    with pytest.raises(grdp.GrdpError, match="2026-9T"):
        grdp.previous_year("2026-M3")


def test_the_classification_has_3_sectors_and_20_industries_in_grdp() -> None:
    c = grdp.classification()
    assert [s["code"] for s in c["sectors"]] == ["KV1", "KV2", "KV3"]
    industries = c["industries"]
    assert [i["code"] for i in industries] == list("ABCDEFGHIJKLMNOPQRSTU")
    assert len([i for i in industries if i.get("in_grdp", True)]) == 20
    assert {i["sector"] for i in industries} == {"KV1", "KV2", "KV3"}


def test_commune_page_shows_its_economy(fresh_client: TestClient, fresh_engine: Engine) -> None:
    assert _send(fresh_engine, [
        _fig(A, "2025-Q2", "TOTAL", "comparable", 1200.0, "Thông cáo quý II/2025",
             "2025-07-20T09:00:00+07:00"),
        _fig(A, "2025-6T", "TOTAL", "comparable", 2400.0, "Thông cáo quý II/2025",
             "2025-07-20T09:00:00+07:00"),
        _fig(A, "2026-Q1", "TOTAL", "current", 1400.0),
        _fig(A, "2026-Q2", "TOTAL", "comparable", 1290.0, "Thông cáo quý II/2026",
             "2026-07-20T09:00:00+07:00"),
        _fig(A, "2026-6T", "TOTAL", "comparable", 2556.0, "Thông cáo quý II/2026",
             "2026-07-20T09:00:00+07:00"),
        _fig(A, "2026-Q2", "TOTAL", "current", 1500.0, "Thông cáo quý II/2026",
             "2026-07-20T09:00:00+07:00"),
        _fig(A, "2026-Q2", "KV2", "current", 450.0, "Thông cáo quý II/2026",
             "2026-07-20T09:00:00+07:00"),
        _fig(A, "2026-Q2", "KV3", "current", 1050.0, "Thông cáo quý II/2026",
             "2026-07-20T09:00:00+07:00"),
        # the office's estimate of the digital economy: 330 of 1500 (22%); 72 of 450 (16%)
        # and 157,5 of 1050 (15%)
        *(_fig(A, "2026-Q2", code, "current", v, "Thông cáo quý II/2026",
               "2026-07-20T09:00:00+07:00")
          for code, v in (("KTS", 330.0), ("KTS-KV2", 72.0), ("KTS-KV3", 157.5)))]).accepted
    page = fresh_client.get(f"/units/{A}").text
    section = page.split('class="unit-grdp"')[1].split("</table>")[0]
    # Q2: 1290 / 1200 = 1.075: +7,5%; six months: 2556 / 2400 = 1.065: +6,5%
    q2 = section.split('data-period="2026-Q2">')[1].split("</tr>")[0]
    assert "1.500" in q2
    assert "7,5%" in q2
    six = section.split('data-period="2026-6T">')[1].split("</tr>")[0]
    assert "6,5%" in six
    # 450 and 1050 of 1500: 30% and 70%
    assert "Công nghiệp và xây dựng 30%" in page
    assert "Dịch vụ 70%" in page
    assert "Kinh tế: tổng sản phẩm trên địa bàn xã, phường (QĐ 3060)" in page
    assert "<td class=\"num\" data-digital>22%</td>" in q2
    assert "<td class=\"num\" data-digital>—</td>" in six  # no estimate for six months
    sectors = page.split("data-digital-sectors>")[1].split("</p>")[0]
    assert "Tỷ trọng kinh tế số trong giá trị tăng thêm của từng khu vực, kỳ 2026-Q2" in sectors
    assert "Công nghiệp và xây dựng 16%; Dịch vụ 15%" in sectors
    assert 'class="unit-grdp"' not in fresh_client.get(f"/units/{B}").text
