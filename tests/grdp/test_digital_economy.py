"""Plan 131's digital-economy targets computed from the statistics office's GRDP release:
II.1 (the digital economy's value added over GRDP at current prices) and II.2 (the lowest of
its shares in the 3 economic sectors), with a revision, the cumulative months, a commune, and
the figure published directly on stats.value standing in only for a period no release covers.
Figures go in through the real intake path, on both databases; the expected numbers are worked
out by hand in the comments."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.factories import bearer, feed_contract, user_with_token

from chiso.context import Runtime
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement import grdp
from chiso.measurement import values as mv
from chiso.measurement.progress import target_progress
from chiso.measurement.recompute import recompute
from chiso.store import catalog_reads
from chiso.web import deps

A, B, CITY = "00070", "00004", "UBNDTP"
Q1 = "2026-04-20T09:00:00+07:00"
Q2 = "2026-07-20T09:00:00+07:00"
TODAY = date(2026, 12, 5)
SHARE = "stats.grdp_digital_economy_share"
LOWEST = "stats.grdp_digital_economy_lowest_sector_share"
KV = [f"stats.grdp_digital_economy_share_kv{n}" for n in (1, 2, 3)]


def _fig(unit: str, period: str, sector: str, value: float, release: str = "Thông cáo quý I/2026",
         at: str = Q1) -> dict[str, Any]:
    return {"unit": unit, "period": period, "sector": sector, "price_basis": "current",
            "value": value, "release": release, "released_at": at}


def _ingest(engine: Engine, feed: str, records: list[dict[str, Any]]) -> None:
    out = ingest(engine, feed_contract(feed), records, Provenance("thongke", "push"), b"{}",
                 "application/json")
    assert out.accepted, out.as_dict()


def _one(rt: Runtime, code: str, period: str, unit: str | None = None) -> mv.Value | None:
    m = rt.catalog.measurement
    assert m is not None
    with rt.engine.connect() as conn:
        got = mv.values(conn, m, code, period, unit, today=TODAY)
    return got[0] if got else None


def _q1_release() -> list[dict[str, Any]]:
    return [
        # the city: GRDP 5000, of which the digital economy 1100 -> 22%
        _fig(CITY, "2026-Q1", "TOTAL", 5000.0), _fig(CITY, "2026-Q1", "KTS", 1100.0),
        # sectors: 16 / 100 = 16%, 255 / 1500 = 17%, 450 / 3000 = 15% -> lowest 15% (KV3)
        _fig(CITY, "2026-Q1", "KV1", 100.0), _fig(CITY, "2026-Q1", "KTS-KV1", 16.0),
        _fig(CITY, "2026-Q1", "KV2", 1500.0), _fig(CITY, "2026-Q1", "KTS-KV2", 255.0),
        _fig(CITY, "2026-Q1", "KV3", 3000.0), _fig(CITY, "2026-Q1", "KTS-KV3", 450.0),
        # a commune: 300 / 1500 = 20%; KV1 only, so no lowest-sector value of its own
        _fig(A, "2026-Q1", "TOTAL", 1500.0), _fig(A, "2026-Q1", "KTS", 300.0),
        _fig(A, "2026-Q1", "KV1", 40.0), _fig(A, "2026-Q1", "KTS-KV1", 2.0),
        # another commune without any digital-economy estimate
        _fig(B, "2026-Q1", "TOTAL", 3400.0),
    ]


def test_ii1_and_ii2_from_a_release_by_hand(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    _ingest(rt.engine, "stats.grdp", _q1_release())
    v = _one(rt, SHARE, "2026-Q1")
    assert v is not None
    assert v.value == pytest.approx(22.0)
    assert (v.numerator, v.denominator, v.source, v.covers) == (1100.0, 5000.0, None, "2026-Q1")
    assert _one(rt, SHARE, "2026-Q1", A).value == pytest.approx(20.0)  # type: ignore[union-attr]
    assert _one(rt, SHARE, "2026-Q1", B) is None  # published no estimate
    low = _one(rt, LOWEST, "2026-Q1")
    assert low is not None
    assert low.value == pytest.approx(15.0)
    assert low.parts == pytest.approx(dict(zip(KV, [16.0, 17.0, 15.0], strict=True)))
    assert _one(rt, LOWEST, "2026-Q1", A) is None  # KV2 and KV3 not published for it
    with rt.engine.connect() as conn:
        assert grdp.digital_shares(conn, CITY, "2026-Q1") == pytest.approx(
            {"KTS": 22.0, "KTS-KV1": 16.0, "KTS-KV2": 17.0, "KTS-KV3": 15.0})
    m = rt.catalog.measurement
    assert m is not None
    with rt.engine.connect() as conn:
        each = {x.unit: x.value for x in mv.values(conn, m, SHARE, "2026-Q1", level="units",
                                                   today=TODAY)}
    assert each == pytest.approx({A: 20.0, CITY: 22.0})


def test_a_revision_replaces_and_the_cumulative_months_are_read(fresh_runtime: Runtime
                                                                ) -> None:
    rt = fresh_runtime
    _ingest(rt.engine, "stats.grdp", _q1_release())
    # the Q2 release revises Q1's digital economy (1100 -> 1150: 23%) and publishes Q2 and
    # the first 6 months: Q2 1320 / 6000 = 22%; 6 months 2470 / 11000 = 22.4545…%
    rev = "Thông cáo quý II/2026"
    _ingest(rt.engine, "stats.grdp", [
        _fig(CITY, "2026-Q1", "KTS", 1150.0, rev, Q2),
        _fig(CITY, "2026-Q2", "TOTAL", 6000.0, rev, Q2), _fig(CITY, "2026-Q2", "KTS", 1320.0,
                                                               rev, Q2),
        _fig(CITY, "2026-6T", "TOTAL", 11000.0, rev, Q2),
        _fig(CITY, "2026-6T", "KTS", 2470.0, rev, Q2)])
    assert _one(rt, SHARE, "2026-Q1").value == pytest.approx(23.0)  # type: ignore[union-attr]
    assert _one(rt, SHARE, "2026-Q2").value == pytest.approx(22.0)  # type: ignore[union-attr]
    # the half year ends with Q2 and with 6T: the cumulative figure is the half's
    h1 = _one(rt, SHARE, "2026-H1")
    assert h1 is not None
    assert h1.covers == "2026-6T"
    assert h1.value == pytest.approx(2470 / 11000 * 100)
    # the release's own cumulative period can be asked for too (a webhook's link names it)
    six = _one(rt, SHARE, "2026-6T")
    assert six is not None
    assert (six.start, six.end) == (date(2026, 1, 1), date(2026, 6, 30))
    assert six.value == pytest.approx(2470 / 11000 * 100)
    # the target, judged on the year to date, reads the latest cumulative figure too
    with rt.engine.connect() as conn:
        target = catalog_reads.get_target(conn, "131-KH-UBND", "II.1")
        assert target is not None
        m = rt.catalog.measurement
        assert m is not None
        got = target_progress(conn, m, target, TODAY)
    assert got is not None
    assert got["note"]
    assert got["note_vi"]
    row = got["indicators"][0]["values"][0]
    assert row["value"] == pytest.approx(2470 / 11000 * 100)
    assert row["met"] is True
    assert row["source"] is None
    # a recompute gives the same state the batches built
    recompute(rt.engine, m, [SHARE, *KV, LOWEST])
    assert _one(rt, SHARE, "2026-H1").value == pytest.approx(  # type: ignore[union-attr]
        2470 / 11000 * 100)


def test_the_published_share_stands_in_only_where_no_release_covers(fresh_runtime: Runtime
                                                                     ) -> None:
    rt = fresh_runtime
    _ingest(rt.engine, "stats.grdp", _q1_release())

    def published(code: str, period: str, value: float) -> dict[str, Any]:
        return {"indicator": code, "unit": CITY, "period": period, "value": value,
                "source_ref": "Báo cáo kinh tế số", "published_at": "2026-05-02T09:00:00+07:00"}

    _ingest(rt.engine, "stats.value", [
        published("digital_economy_grdp_share", "2025", 18.5),
        published("digital_economy_grdp_share", "2026-Q1", 30.0),
        published("digital_economy_lowest_sector_share", "2025", 9.0)])
    # 2026-Q1: the release covers it, so its 22% wins over the 30% published directly
    v = _one(rt, SHARE, "2026-Q1")
    assert v is not None
    assert v.value == pytest.approx(22.0)
    assert v.source is None
    # 2025: no release, so the published share stands in and says where it comes from
    old = _one(rt, SHARE, "2025")
    assert old is not None
    assert old.value == pytest.approx(18.5)
    assert (old.indicator, old.source) == (SHARE, "stats.digital_economy_grdp_share")
    low = _one(rt, LOWEST, "2025")
    assert low is not None
    assert low.value == pytest.approx(9.0)
    assert low.source == "stats.digital_economy_lowest_sector_share"
    assert _one(rt, LOWEST, "2026-Q1").value == pytest.approx(15.0)  # type: ignore[union-attr]


def test_the_target_page_says_which_figure_it_shows(fresh_client: TestClient,
                                                    fresh_runtime: Runtime) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    _ingest(fresh_runtime.engine, "stats.value", [
        {"indicator": "digital_economy_grdp_share", "unit": CITY, "period": "2026-Q3",
         "value": 21.0, "source_ref": "Báo cáo kinh tế số",
         "published_at": "2026-10-10T09:00:00+07:00"}])
    page = fresh_client.get("/plans/131-KH-UBND/targets/II.1").text
    row = page.split("<td>Toàn Thành phố</td>")[1].split("</tr>")[0]
    # no release yet: the share published directly stands in, and the page says so
    assert "21%" in row
    assert "stats.digital_economy_grdp_share" in row
    assert "Một quy tắc: số tính từ số liệu GRDP luôn được dùng trước" in page
    _ingest(fresh_runtime.engine, "stats.grdp", _q1_release())
    page = fresh_client.get("/plans/131-KH-UBND/targets/II.1").text
    row = page.split("<td>Toàn Thành phố</td>")[1].split("</tr>")[0]
    # a release covers the year so far: its 22% wins over the later published 21%
    assert "22%" in row
    assert "(2026-Q1)" in row
    assert "stats.digital" not in row


def test_the_api_serves_the_lowest_with_its_parts_and_records(fresh_client: TestClient,
                                                               fresh_runtime: Runtime) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    _ingest(fresh_runtime.engine, "stats.grdp", _q1_release())
    r = fresh_client.get(f"/api/v1/indicators/{LOWEST}/values?period=2026-Q1")
    assert r.status_code == 200, r.text
    [city] = r.json()["values"]
    assert city["value"] == pytest.approx(15.0)
    assert city["parts"] == pytest.approx(dict(zip(KV, [16.0, 17.0, 15.0], strict=True)))
    # the records behind the value (staff only): the city's KTS and TOTAL at current prices
    _, token = user_with_token(fresh_runtime.engine, "operator")
    r = fresh_client.get(f"/api/v1/indicators/{SHARE}/records?period=2026-Q1&unit={CITY}",
                         headers=bearer(token))
    assert r.status_code == 200, r.text
    assert sorted(x["sector"] for x in r.json()["records"]) == ["KTS", "TOTAL"]
