"""The operator's account care: disable a user (sessions and tokens stop at once), end a
session, revoke an API token, reset a password; each audited; over the API and the pages
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import bearer

from chiso.access import accounts
from chiso.store.tables import audit_log

PASSWORD = "correct horse battery"
NEW_PASSWORD = "một mật khẩu mới 2026"


def _session(app: TestClient, name: str, password: str) -> TestClient:
    """A browser of its own, signed in with the password; the session cookie kept."""
    browser = TestClient(app.app, base_url="https://testserver")
    page = browser.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    done = browser.post("/signin", data={"name": name, "password": password, "next": "/",
                                         "csrf": csrf.group(1)}, follow_redirects=False)
    assert done.status_code == 303
    return browser


def _audited(engine: Engine, action: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [(r.actor, r.target, r.result) for r in conn.execute(
            select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.seq))]


def test_disabling_stops_sessions_and_tokens_at_once_and_is_audited(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    operator, op_token = make_user("operator")
    name, token = make_user("viewer", password=PASSWORD)
    browser = _session(app_client, name, PASSWORD)
    assert browser.get("/api/v1/me").json()["name"] == name
    assert app_client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    done = app_client.post(f"/api/v1/users/{name}/disable", headers=bearer(op_token))
    assert done.status_code == 200
    assert done.json() == {"user": name, "done": "disabled"}
    assert browser.get("/api/v1/me").status_code == 401  # the session now browses anonymous
    assert app_client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert _session_refused(app_client, name)
    listed = {u["name"]: u for u in app_client.get("/api/v1/users",
                                                   headers=bearer(op_token)).json()}
    assert listed[name]["disabled"] is True
    assert listed[operator]["disabled"] is False
    assert _audited(fresh_engine, "POST /api/v1/users/{name}/disable") == [
        (f"user:{operator}", f"/api/v1/users/{name}/disable", "committed")]

    # enabling brings back neither the old session nor the old token
    assert app_client.post(f"/api/v1/users/{name}/enable",
                           headers=bearer(op_token)).status_code == 200
    assert browser.get("/api/v1/me").status_code == 401
    assert app_client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert _session(app_client, name, PASSWORD).get("/api/v1/me").status_code == 200


def _session_refused(app: TestClient, name: str) -> bool:
    browser = TestClient(app.app, base_url="https://testserver")
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/signin").text)
    assert csrf
    answer = browser.post("/signin", data={"name": name, "password": PASSWORD,
                                           "csrf": csrf.group(1)}, follow_redirects=False)
    return answer.status_code == 401


def test_one_session_and_one_token_are_revoked_the_others_stay(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    _, op_token = make_user("operator")
    name, token = make_user("viewer", password=PASSWORD)
    _, other_token = make_user("viewer")
    with fresh_engine.begin() as conn:
        second = accounts.issue_token(conn, name, "second")
    first, kept = _session(app_client, name, PASSWORD), _session(app_client, name, PASSWORD)
    h = bearer(op_token)

    sessions = app_client.get(f"/api/v1/users/{name}/sessions", headers=h).json()
    assert len(sessions) == 2
    ended = accounts.sha256(first.cookies["chiso_session"])
    assert {s["id"] for s in sessions} == {ended, accounts.sha256(kept.cookies["chiso_session"])}
    assert app_client.delete(f"/api/v1/users/{name}/sessions/{ended}",
                             headers=h).status_code == 200
    assert first.get("/api/v1/me").status_code == 401
    assert kept.get("/api/v1/me").status_code == 200
    assert app_client.delete(f"/api/v1/users/{name}/sessions/{ended}",
                             headers=h).status_code == 404  # already ended

    tokens = app_client.get(f"/api/v1/users/{name}/tokens", headers=h).json()
    assert [t["label"] for t in tokens] == ["second", "test"]
    revoked = accounts.sha256(token)
    # another user's token cannot be revoked through this user's path
    other_id = accounts.sha256(other_token)
    assert app_client.delete(f"/api/v1/users/{name}/tokens/{other_id}",
                             headers=h).status_code == 404
    assert app_client.get("/api/v1/me", headers=bearer(other_token)).status_code == 200
    assert app_client.delete(f"/api/v1/users/{name}/tokens/{revoked}",
                             headers=h).status_code == 200
    assert app_client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert app_client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    listed = {t["label"]: t for t in
              app_client.get(f"/api/v1/users/{name}/tokens", headers=h).json()}
    assert listed["test"]["revoked_at"] is not None
    assert listed["second"]["revoked_at"] is None
    revocations = _audited(fresh_engine, "DELETE /api/v1/users/{name}/tokens/{token_id}")
    assert revocations[-1] == (revocations[-1][0], f"/api/v1/users/{name}/tokens/{revoked}",
                               "committed")
    assert app_client.get("/api/v1/users/nobody/tokens", headers=h).status_code == 404
    assert app_client.get(f"/api/v1/users/{name}/tokens",
                          headers=bearer(other_token)).status_code == 403


def test_password_reset_ends_sessions_and_the_new_password_signs_in(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    _, op_token = make_user("operator")
    name, token = make_user("viewer", password=PASSWORD)
    browser = _session(app_client, name, PASSWORD)
    short = app_client.post(f"/api/v1/users/{name}/password", json={"password": "short"},
                            headers=bearer(op_token))
    assert short.status_code == 422
    assert browser.get("/api/v1/me").status_code == 200  # nothing changed
    done = app_client.post(f"/api/v1/users/{name}/password", json={"password": NEW_PASSWORD},
                           headers=bearer(op_token))
    assert done.status_code == 200
    assert browser.get("/api/v1/me").status_code == 401
    assert _session_refused(app_client, name)  # the old password
    assert _session(app_client, name, NEW_PASSWORD).get("/api/v1/me").status_code == 200
    assert app_client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # scripts go on
    assert app_client.post("/api/v1/users/nobody/password", json={"password": NEW_PASSWORD},
                           headers=bearer(op_token)).status_code == 404
    assert len(_audited(fresh_engine, "POST /api/v1/users/{name}/password")) == 1


def test_the_operator_pages_disable_end_sessions_revoke_and_reset(
    app_client: TestClient, fresh_engine: Engine, make_user: Callable[..., tuple[str, str]]
) -> None:
    operator, _ = make_user("operator", password=PASSWORD)
    name, token = make_user("viewer", password=PASSWORD)
    op = _session(app_client, operator, PASSWORD)
    victim = _session(app_client, name, PASSWORD)
    page = op.get(f"/admin/users/{name}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    session_id = accounts.sha256(victim.cookies["chiso_session"])
    assert f"/sessions/{session_id}/revoke" in page.text
    # without the CSRF token: refused, nothing changes
    assert op.post(f"/admin/users/{name}/sessions/{session_id}/revoke",
                   follow_redirects=False).status_code == 403
    assert victim.get("/api/v1/me").status_code == 200
    ended = op.post(f"/admin/users/{name}/sessions/{session_id}/revoke",
                    data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert ended.status_code == 303
    assert victim.get("/api/v1/me").status_code == 401

    token_id = accounts.sha256(token)
    assert op.post(f"/admin/users/{name}/tokens/{token_id}/revoke",
                   data={"csrf": csrf.group(1)}, follow_redirects=False).status_code == 303
    assert app_client.get("/api/v1/me", headers=bearer(token)).status_code == 401

    refused = op.post(f"/admin/users/{name}/password",
                      data={"csrf": csrf.group(1), "password": "short"})
    assert refused.status_code == 422
    assert "12" in refused.text
    assert op.post(f"/admin/users/{name}/password",
                   data={"csrf": csrf.group(1), "password": NEW_PASSWORD},
                   follow_redirects=False).status_code == 303
    assert _session(app_client, name, NEW_PASSWORD).get("/api/v1/me").status_code == 200

    assert op.post(f"/admin/users/{name}/disable", data={"csrf": csrf.group(1)},
                   follow_redirects=False).status_code == 303
    shown = op.get(f"/admin/users/{name}")
    assert 'data-state="disabled"' in shown.text
    assert name in op.get("/admin/users").text
    assert op.get("/admin/users/nobody").status_code == 404
    with fresh_engine.connect() as conn:
        actions = {a for (a,) in conn.execute(
            select(audit_log.c.action).where(audit_log.c.actor == f"user:{operator}"))}
    assert {"POST /admin/users/{name}/sessions/{session_id}/revoke",
            "POST /admin/users/{name}/tokens/{token_id}/revoke",
            "POST /admin/users/{name}/password", "POST /admin/users/{name}/disable"} <= actions
