"""Periods, values (ratio of sums, roll-up, change, published latest), target progress, the
records behind a number and the change stream, through the real intake path and the API."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.conftest import role_headers
from tests.factories import dossier, feed_contract

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.intake.pipeline import Provenance, ingest
from chiso.measurement.periods import PeriodError, parse_period
from chiso.measurement.values import records_query


def test_periods() -> None:
    t = date(2026, 11, 20)
    assert parse_period("2026-10").start == date(2026, 10, 1)
    assert parse_period("2026-10").end == date(2026, 10, 31)
    assert (parse_period("2026-Q3").start, parse_period("2026-Q3").end) == (
        date(2026, 7, 1), date(2026, 9, 30))
    assert parse_period("2026-H2").start == date(2026, 7, 1)
    assert parse_period("2026").end == date(2026, 12, 31)
    assert parse_period("2026-YTD", t).end == t
    assert parse_period("2025-YTD", t).end == date(2025, 12, 31)
    assert parse_period("2026-02-03..2026-02-05").days == 3
    assert parse_period("2026-Q3").previous_year().label == "2025-Q3"
    assert parse_period("2024-02").previous_year().end == date(2023, 2, 28)
    for bad in ("2026-13", "2026-Q5", "26", "2026-02-30", "2026-03-02..2026-03-01"):
        with pytest.raises(PeriodError):
            parse_period(bad)


def _dossier(i: int, unit: str, **over: Any) -> dict[str, Any]:
    """Resolved on time on 5/3/2026."""
    return dossier(0, **{"id": f"HS-{i}", "unit": unit, "procedure": "1.001",
                         "resolved_at": "2026-03-05T10:00:00+07:00",
                         "status": "resolved", "result_electronic": True,
                         "updated_at": "2026-03-05T10:00:00+07:00", **over})


def _send(engine: Engine, feed: str, records: list[dict[str, Any]]) -> None:
    out = ingest(engine, feed_contract(feed), records, Provenance("t", "push"), b"{}",
                 "application/json")
    assert out.accepted, out.as_dict()


@pytest.fixture
def api(fresh_client: TestClient) -> TestClient:
    return fresh_client


def test_values_ratio_of_sums_and_rollup(fresh_engine: Engine, api: TestClient,
                                         catalog: Catalog) -> None:
    late = {"resolved_at": "2026-03-12T10:00:00+07:00", "updated_at": "2026-03-12T10:00:00+07:00"}
    # 00070: 1 of 1 on time; 00004: 1 of 3 on time. City: 2 of 4 = 50% (mean of ratios: 66.7%)
    _send(fresh_engine, "tthc.dossier", [
        _dossier(1, "00070"), _dossier(2, "00004"), _dossier(3, "00004", **late),
        _dossier(4, "00004", **late)])
    r = api.get("/api/v1/indicators/tthc.on_time_rate/values?period=2026-03")
    assert r.status_code == 200, r.text
    [city] = r.json()["values"]
    assert city["unit"] is None
    assert city["value"] == 50.0
    assert city["records"] == 4
    assert (city["numerator"], city["denominator"]) == (2.0, 4.0)
    assert city["as_of"] is not None
    r = api.get("/api/v1/indicators/tthc.on_time_rate/values?period=2026-Q1&level=units")
    got = {v["unit"]: v["value"] for v in r.json()["values"]}
    assert got == {"00070": 100.0, "00004": pytest.approx(100 / 3)}
    r = api.get("/api/v1/indicators/tthc.on_time_rate/values?period=2026-03-09&unit=00004")
    assert r.json()["values"][0]["records"] == 3
    assert api.get("/api/v1/indicators/tthc.on_time_rate/values?period=2026-04")\
        .json()["values"] == []
    # a new version moves dossier 3 to on time: the old contribution is retracted
    _send(fresh_engine, "tthc.dossier", [_dossier(3, "00004", updated_at=
                                                  "2026-03-13T10:00:00+07:00")])
    [city] = api.get("/api/v1/indicators/tthc.on_time_rate/values?period=2026").json()["values"]
    assert city["value"] == 75.0
    # distinct count and records behind the number
    [d] = api.get("/api/v1/indicators/tthc.procedures_with_dossiers/values?period=2026-03")\
        .json()["values"]
    assert d["value"] == 1
    assert d["records"] == 4
    # the records behind the number: staff only (personal data), read here directly
    r = api.get("/api/v1/indicators/tthc.on_time_rate/records?period=2026-03&unit=00004")
    assert r.status_code in (200, 401, 403)
    ind = catalog.measurement.indicators["tthc.on_time_rate"]  # type: ignore[union-attr]
    with fresh_engine.connect() as conn:
        latest, where = records_query(conn, catalog.measurement, ind,  # type: ignore[arg-type]
                                      parse_period("2026-03"), "00004")
        assert conn.execute(select(func.count()).select_from(latest).where(*where))\
            .scalar_one() == 3
    assert api.get("/api/v1/indicators/tthc.on_time_rate/values?period=2026-13")\
        .status_code == 422
    assert api.get("/api/v1/indicators/nope/values?period=2026").status_code == 404
    # an unknown unit is not a unit with no data: 404 naming the field
    operator = role_headers(fresh_engine, "operator")
    for path in ("values", "records"):
        for unit in ("99999", "city"):
            got = api.get(f"/api/v1/indicators/tthc.on_time_rate/{path}",
                          params={"period": "2026-03", "unit": unit}, headers=operator)
            assert got.status_code == 404, (path, unit, got.text)
            assert got.json()["detail"].startswith(f"unit: no unit or group '{unit}'")
    group = api.get("/api/v1/indicators/tthc.on_time_rate/values",
                    params={"period": "2026-03", "unit": "00004"})
    assert group.status_code == 200


def test_published_values_and_progress(fresh_engine: Engine, api: TestClient) -> None:
    def stat(unit: str, period: str, num: float, den: float, at: str) -> dict[str, Any]:
        return {"indicator": "vneid_share", "unit": unit, "period": period, "value": num / den,
                "numerator": num, "denominator": den, "source_ref": "C06",
                "published_at": at}
    _send(fresh_engine, "stats.value", [
        stat("00070", "2026-Q1", 90, 100, "2026-04-05T00:00:00+07:00"),
        stat("00070", "2026-02", 80, 100, "2026-03-05T00:00:00+07:00"),
        stat("00004", "2026-Q1", 50, 100, "2026-04-05T00:00:00+07:00")])
    [city] = api.get("/api/v1/indicators/stats.vneid_share/values?period=2026-H1")\
        .json()["values"]
    assert city["value"] == 70.0  # (90 + 50) / (100 + 100): the latest period per unit
    [feb] = api.get("/api/v1/indicators/stats.vneid_share/values?period=2026-02&unit=00070")\
        .json()["values"]
    assert feb["value"] == 80.0
    r = api.get("/api/v1/plans/131-KH-UBND/targets/III.1a/progress")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["threshold"] == 95
    assert body["indicators"][0]["indicator"] == "stats.vneid_share"
    r = api.get("/api/v1/plans/131-KH-UBND/targets/I.11/progress")
    assert r.status_code == 200
    assert r.json()["level"] == "implementing"
    i1 = api.get("/api/v1/plans/131-KH-UBND/targets/I.1/progress").json()
    assert i1["indicators"][0]["indicator"] == "stats.agencies_ai_use_share"
    # plan 131 (with the 5 computed from the GRDP release) and the SME plan
    assert len(api.get("/api/v1/indicators").json()) == 71 + 5 + 7


def test_stream_announces_committed_changes(fresh_runtime: Runtime, fresh_engine: Engine,
                                            api: TestClient) -> None:
    import threading
    import time

    def later() -> None:
        for _ in range(100):
            if fresh_runtime.hub.subscribers:
                break
            time.sleep(0.05)
        _send(fresh_engine, "tthc.dossier", [_dossier(9, "00070")])

    threading.Thread(target=later).start()
    events = []
    assert api.get("/api/v1/stream").text.startswith(": chiso")  # not an EventSource: ends
    with api.stream("GET", "/api/v1/stream?limit=2",
                    headers={"Accept": "text/event-stream"}) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert len(events) == 2
    assert {"indicator", "unit", "period", "value", "as_of"} <= set(events[0])


def test_target_page_shows_the_same_progress_as_the_api(fresh_engine: Engine,
                                                        api: TestClient) -> None:
    late = {"resolved_at": "2026-03-12T10:00:00+07:00", "updated_at": "2026-03-12T10:00:00+07:00"}
    _send(fresh_engine, "tthc.dossier", [
        _dossier(1, "00070"), _dossier(2, "00004"), _dossier(3, "00004", **late)])
    progress = api.get("/api/v1/plans/131-KH-UBND/targets/I.11/progress").json()
    [ind] = progress["indicators"]
    city = next(v for v in ind["values"] if v["unit"] is None)
    units = {v["unit"]: v for v in ind["values"] if v["unit"]}
    assert len(units) > 126  # every commune and department that implements I.11
    assert units["00070"]["met"] is True
    assert units["00004"]["met"] is False
    page = api.get("/plans/131-KH-UBND/targets/I.11", params={"lang": "vi"}).text
    assert "Tiến độ thực hiện" in page
    # the city's value as the page writes it, Vietnamese style: 66,7%
    assert f"{city['value']:.1f}".replace(".", ",") + "%" in page
    assert "Chưa đạt" in page
    assert page.index("Phường Ba Đình") < page.index("Phường Hoàn Kiếm")  # lowest first


def test_kept_answers_follow_batches_and_recomputes(fresh_engine: Engine, api: TestClient,
                                                    catalog: Catalog) -> None:
    """The values and map answers are kept while their indicator's state is unchanged: the
    same request right after a batch (announced on the hub), or within a second after the
    day state was rebuilt with no batch (a recompute), answers the new state."""
    from chiso.measurement.recompute import recompute
    from chiso.store.tables import m_day, m_month

    url = "/api/v1/indicators/tthc.on_time_rate/values?period=2026"
    map_url = "/api/v1/map?period=2026-03"

    def city() -> Any:
        found = api.get(url).json()["values"]
        return found[0]["records"] if found else None

    def mapped() -> dict[str, Any]:
        r = api.get(map_url)
        assert r.status_code == 200, r.text
        return {c["code"]: c["records"] for c in r.json()["communes"] if c["value"] is not None}

    _send(fresh_engine, "tthc.dossier", [_dossier(1, "00070"), _dossier(2, "00004")])
    assert city() == 2
    assert city() == 2  # kept
    assert mapped() == {"00070": 1, "00004": 1}
    _send(fresh_engine, "tthc.dossier", [_dossier(3, "00004")])
    assert city() == 3
    assert mapped() == {"00070": 1, "00004": 2}
    with fresh_engine.begin() as conn:  # the state emptied behind the API's back, no batch
        for table in (m_day, m_month):
            conn.execute(table.delete().where(table.c.indicator == "tthc.on_time_rate"))
    time.sleep(1.1)  # announced on no hub: seen once the kept answer is re-checked (1 s)
    assert city() is None
    assert mapped() == {}
    recompute(fresh_engine, catalog.measurement, ["tthc.on_time_rate"])  # type: ignore[arg-type]
    time.sleep(1.1)
    assert city() == 3
    assert mapped() == {"00070": 1, "00004": 2}
