"""The drill-down (city → unit → indicator → records), on SQLite and PostgreSQL.

Records go in through the public push API with a source token; every number a page shows is
compared with what the documented API returns for the same question."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests import factories
from tests.conftest import role_headers

from chiso.intake.sources import add_source
from chiso.store.tables import audit_log
from chiso.web.deps import today

CODE = "tthc.on_time_rate"
PUSH = "/api/v1/feeds/tthc.dossier/records"
TODAY = date(2026, 11, 20)  # the pages' and the API's "today"
NAME = "Nguyễn Văn An"


class Tagged(HTMLParser):
    """Every element with a data-* attribute: (tag, {attribute: value})."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k: v or "" for k, v in attrs if k.startswith("data-")}
        if data:
            self.found.append((tag, data))


def tagged(html: str, attribute: str) -> list[dict[str, str]]:
    parser = Tagged()
    parser.feed(html)
    return [a for _, a in parser.found if attribute in a]


def num(text: str) -> float | None:
    return float(text) if text else None


def dossier(i: int, unit: str, on_time: bool = True, **over: Any) -> dict[str, Any]:
    """Received 2/3/2026, due 9/3, resolved on the 5th (on time) or the 12th (late), with the
    applicant's name and phone (personal fields)."""
    resolved = "2026-03-05T10:00:00+07:00" if on_time else "2026-03-12T10:00:00+07:00"
    return factories.dossier(0, **{
        "id": f"HS-{unit}-{i}", "unit": unit, "procedure": "1.001", "resolved_at": resolved,
        "status": "resolved", "result_electronic": True, "updated_at": resolved,
        "applicant_name": NAME, "applicant_phone": "0912345678", **over})


def push(client: TestClient, engine: Engine, records: list[dict[str, Any]]) -> None:
    token = add_source(engine, "dvc", ["tthc.dossier"], None)
    r = client.post(PUSH, json=records, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted", r.text


@pytest.fixture
def app(fresh_client: TestClient) -> Iterator[TestClient]:
    fresh_client.app.dependency_overrides[today] = lambda: TODAY  # type: ignore[attr-defined]
    yield fresh_client
    fresh_client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


@pytest.fixture
def fed(app: TestClient, fresh_engine: Engine) -> TestClient:
    """00070: 1 of 1 on time; 00004: 1 of 3; 09556: 0 of 2; all due in March 2026."""
    push(app, fresh_engine, [
        dossier(1, "00070"),
        dossier(1, "00004"), dossier(2, "00004", on_time=False),
        dossier(3, "00004", on_time=False),
        dossier(1, "09556", on_time=False), dossier(2, "09556", on_time=False,
                                                    supplement_requests=2)])
    return app


def api_values(client: TestClient, code: str, period: str, **params: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/indicators/{code}/values", params={"period": period, **params})
    assert r.status_code == 200, r.text
    values: list[dict[str, Any]] = r.json()["values"]
    return values


def test_indicator_page_shows_the_api_values_and_units_worst_first(fed: TestClient) -> None:
    page = fed.get(f"/indicators/{CODE}?period=2026-03")
    assert page.status_code == 200, page.text
    [city] = api_values(fed, CODE, "2026-03")
    [head] = [a for a in tagged(page.text, "data-value") if a.get("data-indicator") == CODE]
    assert head["data-unit"] == ""
    assert num(head["data-value"]) == pytest.approx(city["value"]) == pytest.approx(100 * 2 / 6)
    assert f'<dd data-field="numerator">{city["numerator"]:.0f}</dd>' in page.text
    assert f'<dd data-field="denominator">{city["denominator"]:.0f}</dd>' in page.text
    assert f'<dd data-field="records">{city["records"]}</dd>' in page.text
    assert "cập nhật" in page.text
    assert "Tử số" in page.text
    assert "Mẫu số" in page.text

    # the per-unit table: the API's level=units values, lowest first (higher is better)
    units = {v["unit"]: v for v in api_values(fed, CODE, "2026-03", level="units")}
    rows = [a for a in tagged(page.text, "data-unit") if a["data-unit"] and
            "data-indicator" not in a]
    assert [r["data-unit"] for r in rows] == ["09556", "00004", "00070"]
    for r in rows:
        assert num(r["data-value"]) == pytest.approx(units[r["data-unit"]]["value"])
    assert f"/indicators/{CODE}?unit=00004&amp;period=2026-03" in page.text
    assert f"/indicators/{CODE}/records?unit=00004&amp;period=2026-03" in page.text
    assert "/plans/131-KH-UBND/targets/I.11" in page.text  # the target bound to it

    # the monthly trend: each month's bar is the API's value for that month
    bars = {a["data-period"]: a["data-value"] for a in tagged(page.text, "data-period")
            if "data-value" in a and "data-indicator" not in a}
    assert num(bars["2026-03"]) == pytest.approx(city["value"])
    assert bars["2026-04"] == ""
    assert list(bars)[:11] == [f"2026-{m:02d}" for m in range(1, 12)]


def test_lower_is_better_puts_the_highest_first(fed: TestClient) -> None:
    code = "tthc.rejected_or_supplement_rate"
    page = fed.get(f"/indicators/{code}?period=2026-03")
    rows = [a for a in tagged(page.text, "data-unit") if a["data-unit"] and
            "data-indicator" not in a]
    values = [num(r["data-value"]) for r in rows]
    assert rows[0]["data-unit"] == "09556"  # 1 of 2 returned for supplements: the worst
    assert values == sorted(values, reverse=True)


def test_unit_drill_down_matches_the_api(fed: TestClient) -> None:
    page = fed.get(f"/indicators/{CODE}?unit=00004&period=2026-03")
    assert page.status_code == 200, page.text
    [mine] = api_values(fed, CODE, "2026-03", unit="00004")
    [head] = [a for a in tagged(page.text, "data-value") if a.get("data-indicator") == CODE]
    assert head["data-unit"] == "00004"
    assert num(head["data-value"]) == pytest.approx(mine["value"]) == pytest.approx(100 / 3)
    assert 'class="current" aria-current="true"' in page.text
    assert fed.get(f"/indicators/{CODE}?unit=NOPE").status_code == 404
    assert fed.get("/indicators/nope.nothing").status_code == 404
    bad = fed.get(f"/indicators/{CODE}?period=2026-13")
    assert bad.status_code == 200
    assert "không hợp lệ" in bad.text


def test_list_and_unit_page_match_the_api(fed: TestClient) -> None:
    page = fed.get("/indicators")
    assert page.status_code == 200
    ytd = {a["data-indicator"]: num(a["data-value"]) for a in tagged(page.text, "data-indicator")}
    assert len(ytd) == len(fed.get("/api/v1/indicators").json())
    [city] = api_values(fed, CODE, "2026-YTD")
    assert ytd[CODE] == pytest.approx(city["value"])
    assert ytd["meetings.online_rate"] is None  # no meeting was sent
    assert "Chỉ số" in page.text

    unit = fed.get("/units/00004")
    assert unit.status_code == 200
    assert "Chỉ số của đơn vị" in unit.text
    rows = {a["data-indicator"]: a for a in tagged(unit.text, "data-indicator")}
    assert CODE in rows
    assert all(c.startswith("tthc.") for c in rows)
    [mine] = api_values(fed, CODE, "2026-YTD", unit="00004")
    assert num(rows[CODE]["data-value"]) == pytest.approx(mine["value"])
    assert f'data-city="{city["value"]}"' in unit.text
    assert f"/indicators/{CODE}?unit=00004&amp;period=2026-YTD" in unit.text
    assert "Chỉ tiêu đơn vị có trách nhiệm" in unit.text  # the catalog sections stay


def test_records_page_paged_pseudonymised_staff_only_and_audited(
        app: TestClient, fresh_engine: Engine) -> None:
    push(app, fresh_engine, [dossier(i, "00070", on_time=i % 3 != 0) for i in range(120)])
    url = f"/indicators/{CODE}/records?unit=00070&period=2026-03"
    operator = role_headers(fresh_engine, "operator")
    first = app.get(url, headers=operator)
    assert first.status_code == 200, first.text
    rows = tagged(first.text, "data-record")
    assert len(rows) == 50
    api = app.get(f"/api/v1/indicators/{CODE}/records",
                  params={"unit": "00070", "period": "2026-03"}, headers=operator).json()
    assert api["total"] == 120
    assert [r["data-record"] for r in rows] == [f"dvc/{r['record_id']}"
                                                for r in api["records"]]
    assert [r["data-counts"] == "yes" for r in rows] == [r["counts"] for r in api["records"]]
    pseudonym = api["records"][0]["applicant_name"]
    assert len(pseudonym) == 64
    assert pseudonym in first.text
    assert NAME not in first.text
    assert "0912345678" not in first.text
    assert 'rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    last = app.get(url + "&page=3", headers=operator)
    assert len(tagged(last.text, "data-record")) == 20
    assert 'rel="next"' not in last.text
    assert "Trang 3/3" in last.text

    with fresh_engine.connect() as conn:
        entries = conn.execute(select(audit_log).where(
            audit_log.c.action == "GET /indicators/{code}/records")).mappings().all()
    assert len(entries) == 2  # one per page read
    assert entries[0]["result"] == "200"
    assert pseudonym in (entries[0]["subjects"] or "").split(",")
    assert entries[0]["unit"] == "00070"
    assert json.loads(entries[0]["detail"])["query"].endswith("period=2026-03")

    # refused: anonymous to the sign-in page, viewer and another unit's officer a 403 page
    anonymous = app.get(url, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin?next=/indicators/")
    viewer = app.get(url, headers=role_headers(fresh_engine, "viewer"))
    assert viewer.status_code == 403
    assert "Ai được xem số liệu gốc" in viewer.text
    assert NAME not in viewer.text
    other = app.get(url, headers=role_headers(fresh_engine, "unit_officer", "00004"))
    assert other.status_code == 403
    assert "data-record" not in other.text
    own = app.get(f"/indicators/{CODE}/records?period=2026-03",
                  headers=role_headers(fresh_engine, "unit_officer", "00070"))
    assert own.status_code == 200
    assert len(tagged(own.text, "data-record")) == 50


def test_pages_equal_the_api_on_the_shared_database(client: TestClient) -> None:
    """Whatever the shared database holds (other tests write to it), the list page shows the
    API's city values."""
    page = client.get("/indicators")
    assert page.status_code == 200
    for row in tagged(page.text, "data-indicator")[:8]:
        values = api_values(client, row["data-indicator"], "")  # the API's default: YTD
        shown = num(row["data-value"])
        assert shown == (pytest.approx(values[0]["value"]) if values and
                         values[0]["value"] is not None else None)
