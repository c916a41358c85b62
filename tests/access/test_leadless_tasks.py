"""A task no unit leads is the city's: no unit-scoped grant may attach evidence to it (or
declare it complete); the city-wide operator and data steward may (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from tests.factories import UNIT_A, bearer

from chiso.store.tables import assignments, task_evidence

LEADLESS = "/api/v1/plans/243-KH-UBND/tasks/III.2/evidence"
DONE = {"url": "https://example.gov.vn/bao-cao.pdf", "completes": True}


def test_only_city_wide_grants_complete_a_task_no_unit_leads(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    with fresh_engine.connect() as conn:
        leads = conn.execute(select(func.count()).select_from(assignments).where(
            assignments.c.plan_key == "243-KH-UBND", assignments.c.item_id == "III.2",
            assignments.c.role == "lead")).scalar_one()
    assert leads == 0
    for role, unit in (("unit_officer", UNIT_A), ("unit_officer", "SKHCN"),
                       ("data_steward", UNIT_A)):
        _, token = make_user(role, unit)
        refused = app_client.post(LEADLESS, json=DONE, headers=bearer(token))
        assert refused.status_code == 403, (role, unit, refused.text)
        assert "no unit leads this task" in refused.text
    for role in ("operator", "data_steward"):
        _, token = make_user(role)
        done = app_client.post(LEADLESS, json=DONE, headers=bearer(token))
        assert done.status_code == 201, (role, done.text)
        assert done.json()["completes"] is True
    with fresh_engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(task_evidence)).scalar_one()
    assert stored == 2
    missing = app_client.post("/api/v1/plans/243-KH-UBND/tasks/NOPE/evidence", json=DONE,
                              headers=bearer(make_user("unit_officer", UNIT_A)[1]))
    assert missing.status_code == 404
