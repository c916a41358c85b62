"""The decision log (task 2.1.1 of plan 131), on SQLite and PostgreSQL: a leader
records a decision taken from a tile and it is counted for its tile and month; who may write
and read; errors name the field; counts are public and texts are not; corrections append."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import DBAPIError
from tests.conftest import role_headers

from chiso.catalog.loader import Catalog
from chiso.dashboard import decisions as log
from chiso.store.tables import audit_log, decisions

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SEEN = {"value": 87.5, "target": 98.0, "status": "at_risk", "as_of": "2026-11-20T08:00:00+00:00",
        "period": "2026-11", "unit_of_measure": "%"}
UNIT = "09556"  # Hà Đông


@pytest.fixture
def tile(catalog: Catalog) -> str:
    """A tile of the catalog's dashboard (the on-time dossiers tile when it is there)."""
    tiles = log.tiles(catalog)
    assert tiles, "the catalog has no dashboard tiles"
    return "ho-so-dung-han" if "ho-so-dung-han" in tiles else next(iter(tiles))


@pytest.fixture
def other_tile(catalog: Catalog, tile: str) -> str:
    return next(t for t in log.tiles(catalog) if t != tile)


def _engine(client: TestClient) -> Engine:
    engine: Engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    return engine


def _post(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/decisions", headers=headers, json=body)


def _this_month_start_utc() -> datetime:
    """00:30 on the 1st of this month in Hanoi: still the previous month in UTC."""
    now = datetime.now(VIETNAM)
    return datetime(now.year, now.month, 1, 0, 30, tzinfo=VIETNAM).astimezone(UTC)


def test_a_leader_records_a_decision_and_it_is_counted_for_its_tile_and_month(
        fresh_client: TestClient, tile: str, other_tile: str) -> None:
    leader = role_headers(_engine(fresh_client), "leader")
    taken = _this_month_start_utc()
    month = taken.astimezone(VIETNAM).strftime("%Y-%m")
    assert taken.strftime("%Y-%m") != month  # in UTC it is still last month

    answer = _post(fresh_client, leader, tile=tile, text="Giao Sở Nội vụ đôn đốc các xã chậm.",
                   seen=SEEN, taken_at=taken.isoformat().replace("+00:00", "Z"))
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["tile"] == tile
    assert stored["month"] == month
    assert stored["role"] == "leader"
    assert stored["unit"] is None
    assert stored["actor"].startswith("user:leader-")
    assert stored["seen"] == SEEN
    assert datetime.fromisoformat(stored["taken_at"]) == taken
    _post(fresh_client, leader, tile=other_tile, text="Họp chuyên đề.", seen={"value": None})

    counts = fresh_client.get("/api/v1/decisions/counts?months=12").json()
    assert counts["tiles"][tile][month] == 1
    assert counts["tiles"][other_tile][month] == 1
    assert counts["months"][month] == 2
    assert counts["total"] == 2
    assert list(counts["months"])[-1] == month  # the current month comes last

    # The write was audited by the guard's hook, in the same transaction.
    with _engine(fresh_client).connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.result).where(
            audit_log.c.action == "POST /api/v1/decisions")).all()
    assert [tuple(a) for a in actions] == [("POST /api/v1/decisions", "committed")] * 2


def test_a_naive_taken_at_is_hanoi_time(fresh_engine: Engine, catalog: Catalog,
                                        tile: str) -> None:
    with fresh_engine.begin() as conn:
        stored = log.record(conn, catalog, tile=tile, text="Quyết định", seen={"value": 1},
                            actor="user:a", role="leader", taken_at="2026-03-01T06:00",
                            now=datetime(2026, 6, 1, tzinfo=UTC))
    assert stored["month"] == "2026-03"
    assert stored["taken_at"] == "2026-02-28T23:00:00+00:00"
    with fresh_engine.connect() as conn:
        counted = log.counts(conn, 12, now=datetime(2026, 6, 1, tzinfo=UTC))
        assert log.month_count(conn, "2026-03") == 1
    assert counted["months"]["2026-03"] == 1
    assert list(counted["months"]) == [f"{y}-{m:02d}" for y, m in
                                       [(2025, m) for m in range(7, 13)]
                                       + [(2026, m) for m in range(1, 7)]]


@pytest.mark.parametrize("role", ["viewer", "unit_officer", "auditor", "data_steward", None])
def test_only_leaders_and_operators_record(fresh_client: TestClient, tile: str,
                                           role: str | None) -> None:
    headers = role_headers(_engine(fresh_client), role, UNIT if role == "unit_officer"
                           else None) if role else {}
    answer = _post(fresh_client, headers, tile=tile, text="x", seen={"value": 1})
    assert answer.status_code == (401 if role is None else 403)
    form = fresh_client.post("/decisions", headers=headers, follow_redirects=False,
                             data={"tile": tile, "text": "x", "seen": '{"value": 1}'})
    assert form.status_code in (401, 403) or form.headers["location"].startswith("/signin")
    with _engine(fresh_client).connect() as conn:
        assert conn.execute(select(decisions.c.id)).first() is None
    operator = role_headers(_engine(fresh_client), "operator")
    done = _post(fresh_client, operator, tile=tile, text="Vận hành", seen={"value": 1})
    assert done.status_code == 201
    assert done.json()["role"] == "operator"


@pytest.mark.parametrize(("body", "field"), [
    ({"tile": "khong-co-o-nay"}, ["tile"]),
    ({"tile": ""}, ["tile"]),
    ({"text": "   "}, ["text"]),
    ({"text": "x" * 4001}, ["text"]),
    ({"seen": None}, ["seen"]),
    ({"seen": {"value": 1, "secret": "x"}}, ["seen", "secret"]),
    ({"seen": {"target": 1}}, ["seen", "value"]),
    ({"seen": {"value": True}}, ["seen", "value"]),
    ({"seen": {"value": 1, "as_of": "hôm qua"}}, ["seen", "as_of"]),
    ({"taken_at": "hôm nay"}, ["taken_at"]),
    ({"taken_at": "2999-01-01T00:00:00+07:00"}, ["taken_at"]),
    ({"follow_up": "2020-01-01"}, ["follow_up"]),
    ({"corrects": 999}, ["corrects"]),
    ({"plan_key": "131-KH-UBND", "target_id": "Z.99"}, ["target_id"]),
    ({"target_id": "I.11"}, ["plan_key"]),
    ({"plan_key": "131-KH-UBND", "task_id": "không-có"}, ["task_id"]),
    ({"colour": "red"}, ["colour"]),
])
def test_errors_name_the_field(fresh_client: TestClient, tile: str, body: dict[str, Any],
                               field: list[str]) -> None:
    leader = role_headers(_engine(fresh_client), "leader")
    answer = _post(fresh_client, leader, **{"tile": tile, "text": "Quyết định", "seen": SEEN,
                                            **body})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", *field]
    with _engine(fresh_client).connect() as conn:
        assert conn.execute(select(decisions.c.id)).first() is None


def test_links_to_a_target_and_a_task_are_kept(fresh_client: TestClient, tile: str) -> None:
    leader = role_headers(_engine(fresh_client), "leader")
    follow = (date.today() + timedelta(days=30)).isoformat()
    answer = _post(fresh_client, leader, tile=tile, text="Đẩy nhanh", seen=SEEN,
                   plan_key="131-KH-UBND", target_id="I.11", task_id="PL02.1",
                   follow_up=follow)
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert (got["plan_key"], got["target_id"], got["task_id"], got["follow_up"]) == (
        "131-KH-UBND", "I.11", "PL02.1", follow)


def test_counts_are_public_and_texts_are_not(fresh_client: TestClient, tile: str) -> None:
    engine = _engine(fresh_client)
    _post(fresh_client, role_headers(engine, "leader"), tile=tile,
          text="Nội dung chỉ đạo nội bộ", seen=SEEN)
    public = fresh_client.get("/api/v1/decisions/counts")
    assert public.status_code == 200
    assert public.json()["total"] == 1
    assert "Nội dung chỉ đạo nội bộ" not in public.text
    assert "user:" not in public.text
    assert fresh_client.get("/api/v1/decisions").status_code == 401

    page = fresh_client.get("/decisions")
    assert page.status_code == 200
    assert "Nhật ký quyết định điều hành" in page.text
    assert "Số quyết định theo ô chỉ tiêu" in page.text
    assert "Nội dung chỉ đạo nội bộ" not in page.text

    for role in ("viewer", "auditor", "operator", "leader"):
        headers = role_headers(engine, role)
        listed = fresh_client.get("/api/v1/decisions", headers=headers)
        assert listed.status_code == 200, role
        assert [d["text"] for d in listed.json()["items"]] == ["Nội dung chỉ đạo nội bộ"]
        assert "Nội dung chỉ đạo nội bộ" in fresh_client.get("/decisions",
                                                              headers=headers).text
    steward = role_headers(engine, "data_steward")
    assert fresh_client.get("/api/v1/decisions", headers=steward).status_code == 403
    assert "Nội dung chỉ đạo nội bộ" not in fresh_client.get("/decisions",
                                                              headers=steward).text


def test_a_unit_officer_reads_only_their_units_decisions(fresh_client: TestClient,
                                                         tile: str) -> None:
    engine = _engine(fresh_client)
    unit_leader = role_headers(engine, "leader", UNIT)
    mine = _post(fresh_client, unit_leader, tile=tile, text="Quyết định của Hà Đông", seen=SEEN)
    assert mine.status_code == 201
    assert mine.json()["unit"] == UNIT
    _post(fresh_client, role_headers(engine, "leader"), tile=tile, text="Quyết định Thành phố",
          seen=SEEN)
    officer = role_headers(engine, "unit_officer", UNIT)
    listed = fresh_client.get("/api/v1/decisions", headers=officer).json()
    assert listed["unit"] == UNIT
    assert [d["text"] for d in listed["items"]] == ["Quyết định của Hà Đông"]
    assert fresh_client.get("/api/v1/decisions?unit=00070", headers=officer).status_code == 403
    page = fresh_client.get("/decisions", headers=officer).text
    assert "Quyết định của Hà Đông" in page
    assert "Quyết định Thành phố" not in page
    # The counts stay the city's.
    assert fresh_client.get("/api/v1/decisions/counts").json()["total"] == 2


def test_append_only_a_correction_replaces_the_decision_in_the_counts(
        fresh_client: TestClient, tile: str, other_tile: str) -> None:
    engine = _engine(fresh_client)
    leader = role_headers(engine, "leader")
    first = _post(fresh_client, leader, tile=tile, text="Giao Sở A", seen=SEEN).json()
    fixed = _post(fresh_client, leader, tile=other_tile, text="Giao Sở B (đính chính)",
                  seen=SEEN, corrects=first["id"])
    assert fixed.status_code == 201
    assert fixed.json()["corrects"] == first["id"]
    counts = fresh_client.get("/api/v1/decisions/counts").json()
    assert counts["total"] == 1
    assert tile not in counts["tiles"]
    assert sum(counts["tiles"][other_tile].values()) == 1

    listed = fresh_client.get("/api/v1/decisions", headers=leader).json()
    by_id = {d["id"]: d for d in listed["items"]}
    assert listed["total"] == 2
    assert by_id[first["id"]]["corrected_by"] == fixed.json()["id"]
    assert by_id[first["id"]]["text"] == "Giao Sở A"  # kept as it was

    again = _post(fresh_client, leader, tile=tile, text="lần nữa", seen=SEEN,
                  corrects=first["id"])
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", "corrects"]
    assert "already corrected" in again.json()["detail"][0]["msg"]

    # No route changes a decision, and the database refuses to.
    assert fresh_client.put("/api/v1/decisions", headers=leader, json={}).status_code == 405
    for statement in (update(decisions).values(text="sửa"), delete(decisions)):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(decisions.c.text).order_by(decisions.c.id)).scalars().all(
        ) == ["Giao Sở A", "Giao Sở B (đính chính)"]


def test_the_form_shows_the_tile_and_its_values_and_records(fresh_client: TestClient,
                                                            catalog: Catalog, tile: str) -> None:
    leader = role_headers(_engine(fresh_client), "leader")
    form = fresh_client.get(f"/decisions/new?tile={tile}", headers=leader)
    assert form.status_code == 200
    question = log.tiles(catalog)[tile].question_vi
    assert question in form.text
    assert 'name="seen"' in form.text
    assert "Giá trị đã thấy" in form.text

    posted = fresh_client.post("/decisions", headers=leader, follow_redirects=False, data={
        "tile": tile, "text": "Yêu cầu các xã xử lý hồ sơ tồn.", "seen": '{"value": 91.2}',
        "taken_at": "2026-11-02T09:15"})
    assert posted.status_code == 303
    assert posted.headers["location"].startswith(f"/decisions?tile={tile}&recorded=")
    shown = fresh_client.get(posted.headers["location"], headers=leader).text
    assert "Đã ghi vào nhật ký quyết định điều hành (mục " in shown
    assert "Yêu cầu các xã xử lý hồ sơ tồn." in shown
    assert question in shown

    bad = fresh_client.post("/decisions", headers=leader, data={
        "tile": tile, "text": "", "seen": '{"value": 91.2}'})
    assert bad.status_code == 422
    assert "Nội dung quyết định" in bad.text
    assert 'aria-invalid="true"' in bad.text
    english = fresh_client.post("/decisions?lang=en", headers=leader, data={
        "tile": tile, "text": "ok", "seen": '{"value": 1}', "taken_at": "2999-01-01T00:00"})
    assert english.status_code == 422
    assert "cannot be taken in the future" in english.text
