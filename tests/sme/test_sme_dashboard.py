"""The dashboard's SME group answers plan 232's own questions: enterprises supported since 2026
against this year's milestone (linear by default, said so), the communes with the fewest, and
whether support produces results; the same numbers as the values API, on both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from chiso.intake.sources import add_source
from chiso.web import deps

TODAY = date(2027, 3, 31)
A, B = "00070", "00004"


def _support(i: int, tax: str, unit: str, month: str, **over: Any) -> dict[str, Any]:
    at = f"{month}-10T09:00:00+07:00"
    rec: dict[str, Any] = {
        "id": f"HT-{i}", "unit": unit, "tax_code": tax, "size_class": "micro", "sector": "G",
        "kind": "consulting", "provider": "Trung tâm", "supported_at": at, "updated_at": at}
    rec.update(over)
    return rec


def _tile(board: dict[str, Any], tile_id: str) -> dict[str, Any]:
    return next(t for g in board["groups"] for t in g["tiles"] if t["id"] == tile_id)


def test_sme_tiles(fresh_client: TestClient, fresh_engine: Engine) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    # Commune A: three enterprises, one of them supported in 2026 and twice again in 2027;
    # commune B: one enterprise. One readiness rise in 2027, one in 2026 (not this year).
    records = [
        _support(1, "T1", A, "2026-05"), _support(2, "T1", A, "2027-01"),
        _support(3, "T1", A, "2027-02", kind="readiness_assessment", readiness_before=1,
                 readiness_after=2),
        _support(4, "T2", A, "2026-09", kind="readiness_assessment", readiness_before=0,
                 readiness_after=2),
        _support(5, "T3", A, "2027-03", kind="solution_application", solution="Hóa đơn điện tử",
                 contract_signed=True),
        _support(6, "T4", B, "2026-11")]
    token = add_source(fresh_engine, "dnnvv", ["sme.support"], None)
    r = fresh_client.post("/api/v1/feeds/sme.support/records", json=records,
                          headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    board = fresh_client.get("/api/v1/dashboard").json()
    supported = _tile(board, "dnnvv-duoc-ho-tro")
    assert supported["period"] == "2026-01-01..2027-03-31"
    values = fresh_client.get("/api/v1/indicators/sme.enterprises_supported/values",
                              params={"period": supported["period"]}).json()["values"][0]
    assert supported["value"] == values["value"] == 4
    assert [w["unit"] for w in supported["where"]] == [B, A]  # the fewest first
    assert [w["value"] for w in supported["where"]] == [1, 3]
    milestone = supported["target"]["milestone"]
    assert (milestone["year"], milestone["value"], milestone["source"]) == (
        2027, 48000, "linear_default")
    assert supported["target"]["threshold"] == 120000
    assert supported["status"] in ("behind", "no_data")
    assert _tile(board, "dnnvv-ung-dung-giai-phap")["value"] == 1
    assert _tile(board, "dnnvv-nang-muc-san-sang")["value"] == 1  # this year's rise only
    assert _tile(board, "hop-dong-cong-nghe-so")["value"] == 1
    page = fresh_client.get("/").text
    assert "Mốc năm 2027: 48.000" in page
    assert "mặc định theo tuyến tính" in page
    assert "Từ năm 2026 đến nay bao nhiêu doanh nghiệp nhỏ và vừa đã được hỗ trợ" in page
    english = fresh_client.get("/", params={"lang": "en"}).text
    assert "Milestone 2027: 48,000" in english
    assert "linear by default" in english


def test_commune_page_shows_its_sme_section(fresh_client: TestClient,
                                            fresh_engine: Engine) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    token = add_source(fresh_engine, "dnnvv", ["sme.support"], None)
    records = [_support(1, "T1", A, "2026-05"), _support(2, "T1", A, "2027-01"),
               _support(3, "T2", A, "2026-06"), _support(4, "T3", B, "2027-02")]
    r = fresh_client.post("/api/v1/feeds/sme.support/records", json=records,
                          headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    page = fresh_client.get(f"/units/{A}").text
    assert "Chuyển đổi số doanh nghiệp nhỏ và vừa (Kế hoạch 232)" in page
    assert "Từ 01/01/2026" in page
    section = page.split('class="unit-sme"')[1]
    row = section.split('data-indicator="sme.enterprises_supported"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]
    # since 2026: T1 and T2 (T1 twice, once); this year: T1; the city: T1, T2, T3
    assert cells == ["2 doanh nghiệp", "1 doanh nghiệp", "3 doanh nghiệp"]
    english = fresh_client.get(f"/units/{A}", params={"lang": "en"}).text
    assert "SME digital transformation (plan 232)" in english
    department = fresh_client.get("/units/SKHCN").text
    assert "unit-sme" not in department  # no SME record: no section
