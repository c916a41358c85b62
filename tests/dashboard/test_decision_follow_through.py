"""Decisions followed to closure, on SQLite and PostgreSQL: a decision names the unit that must
act and by when; an officer of that unit acknowledges it (once, audited, append-only); the log
shows the tile's value since the decision; the first screen lists decisions past their date
without movement, saying whether the unit acknowledged them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from tests.conftest import role_headers
from tests.dashboard.first_screen_data import BA_DINH, HOAN_KIEM, TODAY, _on, _push

from chiso.context import Runtime
from chiso.store.tables import audit_log, decision_acks

ORDER = {"tile": "ho-so-dung-han", "text": "Giao UBND phường Hoàn Kiếm rà soát hồ sơ trễ hạn.",
         "taken_at": "2026-03-02T09:00:00+07:00", "follow_up": "2026-03-20",
         "acting_unit": HOAN_KIEM}


@pytest.fixture
def fed(fresh_client: TestClient, fresh_runtime: Runtime) -> TestClient:
    _push(fresh_client, fresh_runtime.engine, HOAN_KIEM, {1: 10, 2: 9, 3: 9})
    _push(fresh_client, fresh_runtime.engine, BA_DINH, {1: 8, 2: 6, 3: 4})
    return _on(fresh_client, TODAY)


def _decide(client: TestClient, rt: Runtime, **body: Any) -> Any:
    leader = role_headers(rt.engine, "leader")
    return client.post("/api/v1/decisions", headers=leader, json={**ORDER, **body})


def test_a_decision_names_the_unit_that_must_act_and_by_when(fed: TestClient,
                                                             fresh_runtime: Runtime) -> None:
    now = fed.get("/api/v1/dashboard/tiles/ho-so-dung-han").json()["value"]
    made = _decide(fed, fresh_runtime, seen={"value": now})
    assert made.status_code == 201, made.text
    assert made.json()["acting_unit"] == HOAN_KIEM
    assert made.json()["acknowledged"] is None
    no_date = _decide(fed, fresh_runtime, seen={"value": now}, follow_up=None)
    assert no_date.status_code == 422
    assert no_date.json()["detail"][0]["loc"] == ["body", "follow_up"]
    unknown = _decide(fed, fresh_runtime, seen={"value": now}, acting_unit="99999")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "acting_unit"]


def test_the_acting_units_officer_acknowledges_once_and_it_is_audited(
        fed: TestClient, fresh_runtime: Runtime) -> None:
    made = _decide(fed, fresh_runtime, seen={"value": 50.0}).json()
    path = f"/api/v1/decisions/{made['id']}/acknowledge"
    other = role_headers(fresh_runtime.engine, "unit_officer", BA_DINH)
    assert fed.post(path, headers=other, json={}).status_code == 404  # not theirs
    leader = role_headers(fresh_runtime.engine, "leader")
    assert fed.post(path, headers=leader, json={}).status_code == 403
    assert fed.post(path, json={}).status_code == 401
    officer = role_headers(fresh_runtime.engine, "unit_officer", HOAN_KIEM)
    done = fed.post(path, headers=officer, json={"note": "Phường rà soát trong tuần."})
    assert done.status_code == 201, done.text
    assert done.json()["unit"] == HOAN_KIEM
    assert fed.post(path, headers=officer, json={}).status_code == 409
    assert fed.post("/api/v1/decisions/9999/acknowledge", headers=officer,
                    json={}).status_code == 404
    listed = fed.get("/api/v1/decisions", headers=officer).json()  # the unit's own decisions
    mine = next(d for d in listed["items"] if d["id"] == made["id"])
    assert mine["acknowledged"]["note"] == "Phường rà soát trong tuần."
    with fresh_runtime.engine.connect() as conn:
        audited = conn.execute(select(audit_log.c.action, audit_log.c.result).where(
            audit_log.c.action.like("POST /api/v1/decisions/%/acknowledge"))).all()
    assert ("committed",) in {(r.result,) for r in audited}
    with pytest.raises(DBAPIError), fresh_runtime.engine.begin() as conn:
        conn.execute(update(decision_acks).values(note="sửa"))


def test_a_corrected_decision_is_not_acknowledged(fed: TestClient, fresh_runtime: Runtime
                                                  ) -> None:
    first = _decide(fed, fresh_runtime, seen={"value": 50.0}).json()
    second = _decide(fed, fresh_runtime, seen={"value": 50.0}, corrects=first["id"]).json()
    officer = role_headers(fresh_runtime.engine, "unit_officer", HOAN_KIEM)
    late = fed.post(f"/api/v1/decisions/{first['id']}/acknowledge", headers=officer, json={})
    assert late.status_code == 409
    assert str(second["id"]) in late.json()["detail"]


def test_the_log_shows_the_tiles_value_since_and_the_first_screen_the_stalled(
        fed: TestClient, fresh_runtime: Runtime) -> None:
    now = fed.get("/api/v1/dashboard/tiles/ho-so-dung-han").json()["value"]
    made = _decide(fed, fresh_runtime, seen={"value": now + 5, "unit_of_measure": "%"}).json()
    first = fed.get("/api/v1/dashboard/attention").json()
    stalled = next(d for d in first["stalled"] if d["id"] == made["id"])
    assert stalled["acting_unit"] == HOAN_KIEM
    assert stalled["acknowledged"] is False
    assert "chưa xác nhận" in fed.get("/").text
    officer = role_headers(fresh_runtime.engine, "unit_officer", HOAN_KIEM)
    page = fed.get("/decisions", headers=officer).text
    assert f'data-since="{made["id"]}"' in page
    assert 'data-month="2026-03"' in page
    assert 'data-month="now"' in page
    assert "Số liệu của ô chỉ tiêu từ khi có quyết định" in page
    assert f'action="/decisions/{made["id"]}/acknowledge"' in page  # the officer's form
    leader_page = fed.get("/decisions", headers=role_headers(fresh_runtime.engine, "leader"))
    assert f'action="/decisions/{made["id"]}/acknowledge"' not in leader_page.text
    fed.post(f"/api/v1/decisions/{made['id']}/acknowledge", headers=officer, json={})
    after = fed.get("/api/v1/dashboard/attention").json()
    assert next(d for d in after["stalled"] if d["id"] == made["id"])["acknowledged"] is True
    # Past its date and unmoved, it stays on the first screen until the tile moves.
    assert date.fromisoformat(stalled["follow_up"]) < TODAY


def test_why_an_acknowledgement_failed_comes_from_the_server_not_the_link(
        fed: TestClient, fresh_runtime: Runtime) -> None:
    now = fed.get("/api/v1/dashboard/tiles/ho-so-dung-han").json()["value"]
    made = _decide(fed, fresh_runtime, seen={"value": now}).json()
    officer = role_headers(fresh_runtime.engine, "unit_officer", HOAN_KIEM)
    form = f"/decisions/{made['id']}/acknowledge"
    assert fed.post(form, headers=officer, data={}, follow_redirects=False).status_code == 303
    again = fed.post(form, headers=officer, data={}, follow_redirects=False)
    assert again.status_code == 303
    assert "why" not in again.headers["location"]
    page = fed.get(again.headers["location"], headers=officer)
    assert f"Chưa xác nhận được quyết định điều hành, mục {made['id']}: " in page.text
    # a crafted link shows no words of its own
    fed.cookies.clear()
    spoof = fed.get("/decisions", headers=officer,
                    params={"not_acknowledged": made["id"], "why": "Gọi số này"})
    assert "Gọi số này" not in spoof.text
    assert "Chưa xác nhận được quyết định" not in spoof.text
