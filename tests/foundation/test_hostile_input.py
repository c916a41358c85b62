"""Input nobody should send, answered with a 4xx naming what is wrong, never a 500: periods
that are not periods or fall outside any plan's years, and JSON nested past reason or
holding integers too long to convert, at every door that reads them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.conftest import role_headers
from tests.factories import uid

from chiso.dashboard.decisions import DecisionError, check_seen
from chiso.intake.sources import add_source
from chiso.measurement.periods import PeriodError, parse_period
from chiso.text import read_json

BAD_PERIODS = ["2026-02-30", "2026-Q5", "2026-Q", "2026-H", "a-b-c", "2026-W60",
               "2026-Q1..2026-Q9", "9999-12", "9999-Q4", "0001-01", "0001-01-01..2026-01-01"]
PAGES = ["/rankings/dvc-766", "/units/09556/scores/dvc-766", "/map",
         "/indicators/eoffice.electronic_signed_rate",
         "/api/v1/indicators/eoffice.electronic_signed_rate/values", "/api/v1/rankings/dvc-766"]
DEEP = b"[" * 100_000 + b"]" * 100_000
LONG_INT = b'{"records": [{"id": "Q", "unit": "09556", "published": 1' + b"0" * 5000 + b"}]}"


@pytest.mark.parametrize("period", ["9999-12", "0001-01", "2026-01-01..9999-12-31"])
def test_periods_outside_any_plans_years_are_refused(period: str) -> None:
    with pytest.raises(PeriodError, match="1900"):
        parse_period(period)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_asked_for_a_period_that_is_not_one_says_so(client: TestClient,
                                                           page: str) -> None:
    for period in BAD_PERIODS:
        r = client.get(page, params={"period": period})
        # an API answers 4xx; a page either does or shows its default period with a complaint
        ok = 400 <= r.status_code < 500 or (r.status_code == 200 and
                                            not page.startswith("/api/"))
        assert ok, (page, period, r.status_code, r.text[:300])


@pytest.mark.parametrize("body", [DEEP, b'{"a":' * 5000 + b"1" + b"}" * 5000, LONG_INT,
                                  b"[" * 33 + b"]" * 33])
def test_json_from_outside_is_read_or_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"JSON|digits|integer"):
        read_json(body)


def test_json_within_reason_is_read() -> None:
    assert read_json(b'{"records": [{"id": "1", "tags": [[1, 2], {"a": null}]}]}') == {
        "records": [{"id": "1", "tags": [[1, 2], {"a": None}]}]}


@pytest.mark.parametrize("body", [DEEP, LONG_INT])
def test_a_push_too_deep_or_too_long_is_a_refused_batch(fresh_engine: Engine,
                                                        fresh_client: TestClient,
                                                        body: bytes) -> None:
    token = add_source(fresh_engine, uid("dvc"), ["tthc.dossier"], ["00070"])
    r = fresh_client.post("/api/v1/feeds/tthc.dossier/records", content=body,
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert "JSON" in r.text or "digits" in r.text


def test_evidence_as_json_nested_too_deep_is_refused(fresh_engine: Engine,
                                                     fresh_client: TestClient) -> None:
    headers = {**role_headers(fresh_engine, "operator"), "Content-Type": "application/json"}
    r = fresh_client.post("/api/v1/plans/131-KH-UBND/tasks/PL02.1/evidence", content=DEEP,
                          headers=headers)
    assert r.status_code == 422, r.text[:300]


def test_a_decisions_seen_values_nested_too_deep_are_refused() -> None:
    # the decision form sends the tile's values as seen as one JSON text
    with pytest.raises(DecisionError) as err:
        check_seen("[" * 100_000)
    assert err.value.field == "seen"


@pytest.mark.parametrize("query", ["/decisions?recorded=abc", "/canh-bao?closed=x",
                                   "/decisions?page=-1"])
def test_a_page_asked_with_a_wrongly_typed_parameter_answers_a_page(client: TestClient,
                                                                   engine: Engine,
                                                                   query: str) -> None:
    r = client.get(query, headers={"Accept": "text/html", **role_headers(engine, "leader")})
    assert r.status_code == 422, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert "Yêu cầu không hợp lệ" in r.text
    name = query.split("?", 1)[1].split("=", 1)[0]
    assert name in r.text


def test_the_api_still_names_each_field_in_json(client: TestClient) -> None:
    r = client.get("/api/v1/decisions", params={"page": "x"})
    assert r.status_code in (401, 403, 422)
    if r.status_code == 422:
        assert r.json()["detail"][0]["loc"][-1] == "page"
