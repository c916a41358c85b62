"""The SME programme answers its own questions from its records: communes behind their share of
this year's milestone, sectors below the plan's applying ratio, exemplary SMEs by sector, and
whether support raised readiness; each enterprise once however often it is re-sent or
corrected; the same answer behind the API, the tiles and the commune page, on both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import feed_contract

from chiso.catalog.loader import Catalog
from chiso.dashboard import sme_programme
from chiso.intake.pipeline import Provenance, ingest
from chiso.web import deps

TODAY = date(2027, 6, 30)
A, B = "00070", "00004"


def _support(i: int, tax: str, unit: str, day: str, sector: str = "C", **over: Any
             ) -> dict[str, Any]:
    at = f"{day}T09:00:00+07:00"
    rec: dict[str, Any] = {
        "id": f"HT-{i}", "unit": unit, "tax_code": tax, "size_class": "small",
        "sector": sector, "kind": "consulting", "provider": "Trung tâm", "supported_at": at,
        "updated_at": at}
    rec.update(over)
    return rec


def _send(engine: Engine, feed: str, records: list[dict[str, Any]]) -> None:
    out = ingest(engine, feed_contract(feed), records, Provenance("sme-sim", "push"), b"{}",
                 "application/json")
    assert out.accepted, out.problems


def _records() -> list[dict[str, Any]]:
    app = {"kind": "solution_application", "solution": "Hóa đơn điện tử"}
    return [
        # Sector C: E1 three times (2026, 2027 twice, once applying); E2 applying in 2027.
        _support(1, "E1", A, "2026-04-01"),
        _support(2, "E1", A, "2027-02-01", **app, contract_signed=True),
        _support(3, "E1", A, "2027-03-01", kind="readiness_assessment", readiness_before=1,
                 readiness_after=3),
        _support(4, "E2", B, "2027-05-01", **app),
        # Sector G: E3 and E4 supported, none applying; E4 assessed with no rise.
        _support(5, "E3", A, "2026-10-01", sector="G"),
        _support(6, "E4", A, "2027-04-01", sector="G", kind="readiness_assessment",
                 readiness_before=2, readiness_after=2),
    ]


def test_the_programme_answers_from_records(fresh_engine: Engine, catalog: Catalog) -> None:
    _send(fresh_engine, "sme.support", _records())
    _send(fresh_engine, "sme.exemplary", [
        {"id": "TB-1", "unit": A, "tax_code": "E1", "sector": "C", "status": "recognised",
         "recognised_at": "2027-05-20T09:00:00+07:00", "updated_at": "2027-05-20T09:00:00+07:00"},
        {"id": "TB-2", "unit": B, "tax_code": "E2", "sector": "C", "status": "revoked",
         "recognised_at": "2027-01-20T09:00:00+07:00", "updated_at": "2027-06-01T09:00:00+07:00"}])
    # Re-sent unchanged, then E3's record corrected to sector G -> J: counts do not move,
    # except the sector that now holds E3.
    _send(fresh_engine, "sme.support", _records())
    _send(fresh_engine, "sme.support", [_support(5, "E3", A, "2026-10-01", sector="J",
                                                 updated_at="2027-06-02T09:00:00+07:00")])
    with fresh_engine.connect() as conn:
        got = sme_programme.programme(conn, catalog, TODAY)
    assert (got.supported, got.supported_this_year) == (4, 3)  # E1-E4; E1, E2, E4 this year
    assert got.milestone is not None
    assert (got.milestone.year, got.milestone.value, got.milestone.source) == (
        2027, 48000, "linear_default")
    assert got.milestone_progress == 4 / 48000 * 100
    assert got.plan_ratio == 60.0
    communes = len(catalog.units.communes())
    by_unit = {c.unit: c for c in got.communes}
    assert len(got.communes) == communes
    assert by_unit[A].supported == 3
    assert by_unit[B].supported == 1
    assert by_unit[A].share == 48000 / communes
    assert by_unit[A].progress == 3 / (48000 / communes) * 100
    assert got.communes[-1].unit == A  # the most ahead last; all lag at this volume
    sectors = {s.code: s for s in got.sectors}
    assert set(sectors) == {"C", "G", "J"}
    c, g, j = sectors["C"], sectors["G"], sectors["J"]
    assert (c.supported, c.applying_digital, c.applying_rate) == (2, 2, 100.0)
    assert (c.readiness_raised, c.contracts, c.exemplary) == (1, 1, 1)  # the revoked not counted
    assert not c.lagging
    assert (g.supported, g.applying_digital, g.lagging) == (1, 0, True)
    assert (j.supported, j.lagging) == (1, True)
    assert [s.code for s in got.sectors] == ["G", "J", "C"]  # lagging first
    assert got.this_year.assessed == 2
    assert got.this_year.readiness_raised == 1
    assert got.this_year.raised_rate == 50.0
    assert (got.this_year.contracts, got.this_year.applying_digital) == (1, 2)
    assert got.since_start.period == "2026-01-01..2027-06-30"
    with fresh_engine.connect() as conn:
        mine = sme_programme.programme(conn, catalog, TODAY, unit=B)
    assert (mine.supported, [s.code for s in mine.sectors]) == (1, ["C"])
    assert mine.milestone_progress is None  # the milestone is the city's


def test_the_sme_tiles_and_page(fresh_client: TestClient, fresh_engine: Engine) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    _send(fresh_engine, "sme.support", _records())
    board = fresh_client.get("/api/v1/dashboard").json()
    tiles = {t["id"]: t for g in board["groups"] for t in g["tiles"]}
    communes = tiles["dnnvv-xa-cham"]
    assert communes["kind"] == "sme"
    assert communes["of"] == communes["value"]
    assert [w["value"] for w in communes["where"][:1]] == [0]
    sectors = tiles["dnnvv-nganh-cham"]
    assert (sectors["value"], sectors["of"]) == (1, 2)
    assert [w["name"] for w in sectors["where"]] == [
        "G. Bán buôn và bán lẻ; sửa chữa ô tô, mô tô, xe máy"]
    results = tiles["dnnvv-ket-qua-ho-tro"]
    assert results["value"] == 50.0
    assert results["where"][3]["value"] == 1
    api = fresh_client.get("/api/v1/sme/programme").json()
    assert api["supported"] == 4
    assert api["sectors"][0]["code"] == "G"
    assert fresh_client.get("/api/v1/sme/programme", params={"unit": "NOPE"}).status_code == 404
    page = fresh_client.get("/").text
    assert "Ngành chậm ứng dụng giải pháp số" in page
    assert "0% ứng dụng giải pháp số (kế hoạch: 60%)" in page
    english = fresh_client.get("/", params={"lang": "en"}).text
    assert "G. Wholesale and retail trade" in english
    sme_page = fresh_client.get("/sme", params={"lang": "vi"}).text
    assert "Bán buôn và bán lẻ" in sme_page
    assert "48.000" in sme_page
    unit_page = fresh_client.get(f"/units/{A}", params={"lang": "vi"}).text
    assert 'class="unit-sme-sectors"' in unit_page
    assert "So với phần mốc năm 2027 của Thành phố" in unit_page
