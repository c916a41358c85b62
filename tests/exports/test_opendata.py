"""The open datasets on both databases: records pushed through the real intake path, then each
dataset as CSV and JSON with its dictionary and per-row provenance, and conditional requests."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from tests.factories import feed_contract, send_months

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.exports import datasets as ds
from chiso.intake.pipeline import Provenance, ingest
from chiso.outlook.answers import target_outlook, task_warnings
from chiso.web import deps

TODAY = date(2026, 4, 10)
HOAN_KIEM, BA_DINH = "00070", "00004"


@pytest.fixture
def api(fresh_client: TestClient) -> TestClient:
    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    return fresh_client


def rows_of(r: object) -> list[dict[str, str]]:
    text = r.content.decode("utf-8")  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(text)))


def test_indicator_values_with_provenance_as_csv_and_json(fresh_engine: Engine,
                                                          catalog: Catalog,
                                                          api: TestClient) -> None:
    send_months(fresh_engine, HOAN_KIEM, {3: 5})  # 5 of 10 on time
    send_months(fresh_engine, BA_DINH, {3: 10})
    r = api.get("/du-lieu-mo/indicator-values.csv", params={"period": "2026-03"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    header = r.content.decode("utf-8").split("\r\n", 1)[0].split(",")
    assert header == [f.name for f in ds.INDICATOR_VALUES.fields]
    rows = {(x["indicator"], x["unit"]): x for x in rows_of(r)}
    hk = rows[("tthc.on_time_rate", HOAN_KIEM)]
    assert float(hk["value"]) == 50.0
    assert (hk["numerator"], hk["denominator"], hk["records"]) == ("5.0", "10.0", "10")
    assert (hk["period"], hk["period_start"], hk["period_end"]) == \
        ("2026-03", "2026-03-01", "2026-03-31")
    assert float(rows[("tthc.on_time_rate", "UBNDTP")]["value"]) == 75.0  # 15 of 20
    assert hk["indicator_name_vi"] == catalog.measurement.indicators[  # type: ignore[union-attr]
        "tthc.on_time_rate"].name_vi
    # provenance: every row says when, how, under which catalog, from which feeds
    assert hk["catalog_version"] == catalog.digest
    assert hk["feeds"] == "tthc.dossier"
    assert hk["method"] == "indicator tthc.on_time_rate"
    assert hk["as_of"].endswith("+00:00")  # times carry their offset on both databases
    assert hk["changed_at"]

    j = api.get("/du-lieu-mo/indicator-values.json", params={"period": "2026-03"})
    assert j.status_code == 200
    body = j.json()
    assert body["fields"] == header
    assert len(body["rows"]) == len(rows)
    one = next(x for x in body["rows"]
               if (x["indicator"], x["unit"]) == ("tthc.on_time_rate", HOAN_KIEM))
    assert one["value"] == 50.0
    assert one["records"] == 10
    assert one["as_of"] == hk["as_of"]


def test_the_excel_workbook_holds_the_csv_rows_typed(fresh_engine: Engine,
                                                      api: TestClient) -> None:
    """For a person opening it in Excel: the CSV's rows with numbers as numbers (a Vietnamese
    Excel reads "50.0" in a CSV as fifty thousand), the dictionary beside them, the same bytes
    for the same data, and a source's text that looks like a formula kept as text."""
    send_months(fresh_engine, HOAN_KIEM, {3: 5})
    url = "/du-lieu-mo/indicator-values.xlsx?period=2026-03"
    r = api.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ds_media("xlsx")
    assert 'filename="indicator-values-2026-03.xlsx"' in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["data", "dictionary"]
    sheet = book["data"]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0] == [f.name for f in ds.INDICATOR_VALUES.fields]
    by_key = {(row[0], row[table[0].index("unit")]): dict(zip(table[0], row, strict=True))
              for row in table[1:]}
    hk = by_key[("tthc.on_time_rate", HOAN_KIEM)]
    assert hk["value"] == 50.0
    assert (hk["numerator"], hk["denominator"], hk["records"]) == (5.0, 10.0, 10)
    csv_rows = rows_of(api.get("/du-lieu-mo/indicator-values.csv?period=2026-03"))
    assert len(table) - 1 == len(csv_rows)
    assert hk["as_of"] == next(x["as_of"] for x in csv_rows
                               if (x["indicator"], x["unit"]) == ("tthc.on_time_rate",
                                                                  HOAN_KIEM))
    words = [list(row) for row in book["dictionary"].iter_rows(values_only=True)]
    assert [w[0] for w in words[1:]] == [f.name for f in ds.INDICATOR_VALUES.fields]
    assert sheet.freeze_panes == "A2"
    again = api.get(url)
    assert again.content == r.content  # dated by the data, not by the request
    assert api.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304

    table_ = ds.Table(ds.INDICATOR_VALUES, "2026-03",
                      [{"indicator": "=HYPERLINK(\"http://x\")", "unit": "+1", "value": 1.5}],
                      datetime(2026, 4, 1, tzinfo=UTC))
    cells = load_workbook(io.BytesIO(table_.xlsx()))["data"]
    assert cells["A2"].data_type == "s"
    assert cells["A2"].value == '=HYPERLINK("http://x")'


def ds_media(kind: str) -> str:
    from chiso.web.api.opendata import MEDIA
    return MEDIA[kind]


def test_conditional_requests_follow_the_data(fresh_engine: Engine, api: TestClient) -> None:
    send_months(fresh_engine, HOAN_KIEM, {3: 5})
    url = "/du-lieu-mo/indicator-values.csv?period=2026-03"
    first = api.get(url)
    etag, last = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"')
    assert last.endswith("GMT")
    same = api.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag
    assert api.get(url, headers={"If-Modified-Since": last}).status_code == 304
    assert api.get(url, headers={"If-Modified-Since": "Sun, 01 Mar 2026 00:00:00 GMT"}
                   ).status_code == 200
    send_months(fresh_engine, BA_DINH, {3: 10})  # the data moves: so do the validators
    moved = api.get(url, headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert moved.headers["etag"] != etag
    assert (ds_row := [x for x in rows_of(moved) if x["unit"] == BA_DINH])
    assert ds_row[0]["records"] == "10"


def test_scores_and_ranks(fresh_engine: Engine, api: TestClient) -> None:
    send_months(fresh_engine, HOAN_KIEM, {3: 5})
    send_months(fresh_engine, BA_DINH, {3: 10})
    r = api.get("/du-lieu-mo/scores.csv", params={"period": "2026-03"})
    assert r.status_code == 200, r.text
    rows = [x for x in rows_of(r) if x["method"] == "dvc-766" and x["kind"] == "commune"]
    by_unit = {x["unit"]: x for x in rows}
    assert int(by_unit[BA_DINH]["rank"]) < int(by_unit[HOAN_KIEM]["rank"])
    assert {x["of"] for x in rows} == {str(len(rows))}
    assert by_unit[BA_DINH]["method_version"]
    assert "tthc.dossier" in by_unit[BA_DINH]["feeds"].split(";")
    assert by_unit[BA_DINH]["stored"] == "false"  # none stored: computed on download


def test_data_accountability(fresh_engine: Engine, api: TestClient) -> None:
    send_months(fresh_engine, HOAN_KIEM, {3: 5})
    r = api.get("/du-lieu-mo/data-accountability.json", params={"period": "2026-03"})
    assert r.status_code == 200, r.text
    got = [x for x in r.json()["rows"] if (x["feed"], x["unit"]) == ("tthc.dossier", HOAN_KIEM)]
    assert [(x["month"], x["records"]) for x in got] == [("2026-03", 10)]
    assert got[0]["as_of"] is not None
    assert got[0]["feeds"] == "tthc.dossier"


def test_dictionary_list_and_page(client: TestClient) -> None:
    d = client.get("/du-lieu-mo/scores/dictionary.json").json()
    assert [f["name"] for f in d["fields"]] == [f.name for f in ds.SCORES.fields]
    assert d["provenance"] == ["as_of", "method", "method_version", "catalog_version", "feeds"]
    assert all(f["description_vi"] and f["description_en"] for f in d["fields"])
    listed = client.get("/api/v1/opendata").json()
    assert {x["id"] for x in listed} == set(ds.DATASETS)
    vi = client.get("/du-lieu-mo", params={"lang": "vi"})
    assert vi.status_code == 200
    assert "Dữ liệu mở" in vi.text
    assert "Giá trị chỉ số theo đơn vị và kỳ" in vi.text
    assert 'href="/du-lieu-mo/scores.csv"' in vi.text
    en = client.get("/du-lieu-mo", params={"lang": "en"})
    assert "Open data" in en.text
    assert "Indicator values by unit and period" in en.text


def test_bad_requests_name_the_parameter(client: TestClient) -> None:
    r = client.get("/du-lieu-mo/nope.csv")  # a person's link: the error page says what exists
    assert r.status_code == 404
    assert "nope" in r.text
    assert "indicator-values" in r.text
    r = client.get("/du-lieu-mo/scores.json", params={"period": "2026-13"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("period:")
    assert client.get("/du-lieu-mo/nope/dictionary.json").status_code == 404


def test_target_status_is_the_outlook(fresh_engine: Engine, catalog: Catalog,
                                      api: TestClient) -> None:
    send_months(fresh_engine, HOAN_KIEM, {1: 8, 2: 9, 3: 8})
    r = api.get("/du-lieu-mo/target-status.json", params={"period": "2026"})
    assert r.status_code == 200, r.text
    rows = {(x["plan"], x["target"], x["unit"]): x for x in r.json()["rows"]}
    got = rows[("131/KH-UBND", "I.11", HOAN_KIEM)]
    with fresh_engine.connect() as conn:
        want = target_outlook(conn, catalog, "131/KH-UBND", "I.11", HOAN_KIEM, TODAY)
    assert want.forecast is not None
    assert got["status"] == want.status
    assert got["forecast_value"] == want.forecast.value
    assert got["forecast_low"] == want.forecast.low
    assert got["forecast_interval"] == want.forecast.interval
    assert got["latest_value"] == 80.0
    assert got["feeds"] == "tthc.dossier"
    assert got["as_of"] is not None
    assert ("131/KH-UBND", "I.11", "UBNDTP") in rows  # the city beside the unit
    # every target of the plan is listed for the city, measured or not yet published
    assert {t for (p, t, u) in rows if p == "131/KH-UBND" and u == "UBNDTP"} == {
        t.id for t in catalog.plans["131/KH-UBND"].targets}
    awaiting = [x for x in rows.values() if x["awaiting_data"]]
    assert all(x["status"] is None for x in awaiting)


def test_task_progress_every_task_with_its_warnings(client: TestClient, catalog: Catalog,
                                                    runtime: Runtime) -> None:
    client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    r = client.get("/du-lieu-mo/task-progress.csv")
    assert r.status_code == 200, r.text
    rows = rows_of(r)
    assert len(rows) == sum(len(e.tasks) for e in catalog.plans.values())
    by = {(x["plan"], x["task"]): x for x in rows}
    with runtime.engine.connect() as conn:
        warned = task_warnings(conn, catalog, None, TODAY).warnings
    assert warned  # the plans have tasks overdue on this day
    for w in warned:
        assert w.kind in by[(w.plan, w.task)]["warnings"].split(";")
    assert {x["today"] for x in rows} == {TODAY.isoformat()}
    assert all(x["catalog_version"] == catalog.digest for x in rows)


def test_a_city_figure_published_for_a_quarter_is_one_row(fresh_engine: Engine,
                                                          api: TestClient) -> None:
    # a statistics office publishes the city's figure with the city as its unit, beside a
    # commune's: the dataset has one row per indicator, unit and period, so its change log
    # can publish it
    recs = [{"indicator": "vneid_share", "unit": unit, "period": "2026-Q1", "value": v,
             "numerator": n, "denominator": 100, "source_ref": "C06",
             "published_at": "2026-04-05T00:00:00+07:00"}
            for unit, v, n in [("UBNDTP", 0.8, 80), (HOAN_KIEM, 0.9, 90)]]
    out = ingest(fresh_engine, feed_contract("stats.value"), recs, Provenance("t", "push"),
                 b"{}", "application/json")
    assert out.accepted, out.as_dict()
    for dataset in ("indicator-values", "target-status"):
        r = api.get(f"/du-lieu-mo/{dataset}.json", params={"period": "2026-Q1"})
        assert r.status_code == 200, r.text
        keys = [tuple(row[k] for k in (("indicator", "unit", "period")
                                        if dataset == "indicator-values"
                                        else ("plan", "target", "unit")))
                for row in r.json()["rows"]]
        assert keys, dataset
        assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1][:5]
