"""Unit scope (no route reaches another unit's data, guessed ids included), sign-in with
lock-out, CSRF on form posts, API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tests.factories import PASSWORD, UNIT_A, UNIT_B, bearer, dossier, sign_in

from chiso.access import accounts
from chiso.intake.sources import add_source
from chiso.store.tables import audit_log, feed_tthc_dossier

PUSH = "/api/v1/feeds/tthc.dossier/records"


def _records(client: TestClient, engine: Engine) -> None:
    token = add_source(engine, "dvc", ["tthc.dossier"], [UNIT_A, UNIT_B])
    batch = [dossier(i, unit=UNIT_A if i % 2 else UNIT_B, applicant_id=f"0010{i:08d}")
             for i in range(10)]
    assert client.post(PUSH, json=batch, headers=bearer(token)).status_code == 200


def test_a_unit_officer_reaches_only_its_unit(app_client: TestClient, fresh_engine: Engine,
                                              make_user: Callable[..., tuple[str, str]]) -> None:
    _records(app_client, fresh_engine)
    _, token = make_user("unit_officer", UNIT_A)
    h = bearer(token)
    listed = app_client.get("/api/v1/records/tthc.dossier", headers=h)
    assert listed.status_code == 200
    assert {r["unit"] for r in listed.json()["items"]} == {UNIT_A}  # unit= forced
    assert app_client.get("/api/v1/records/tthc.dossier", params={"unit": UNIT_B},
                          headers=h).status_code == 403
    assert app_client.get("/api/v1/data-quality", params={"unit": UNIT_B},
                          headers=h).status_code == 403
    with fresh_engine.connect() as conn:
        theirs = conn.execute(select(feed_tthc_dossier.c.source, feed_tthc_dossier.c.record_id)
                              .where(feed_tthc_dossier.c.unit == UNIT_B)).all()
        mine = conn.execute(select(feed_tthc_dossier.c.source, feed_tthc_dossier.c.record_id)
                            .where(feed_tthc_dossier.c.unit == UNIT_A)).first()
    assert theirs
    assert mine
    for source, record_id in theirs:  # guessing identifiers: as if they did not exist
        answer = app_client.get(f"/api/v1/records/tthc.dossier/{source}/{record_id}",
                                headers=h)
        assert answer.status_code == 404
    assert app_client.get(f"/api/v1/records/tthc.dossier/{mine[0]}/{mine[1]}",
                          headers=h).status_code == 200
    upload = app_client.post("/intake/upload", data={"feed": "tthc.dossier", "unit": UNIT_B},
                             files={"file": ("x.csv", b"a,b\n")}, headers=h)
    assert upload.status_code == 403
    # the city-wide steward sees both units
    _, steward = make_user("data_steward")
    both = app_client.get("/api/v1/records/tthc.dossier", headers=bearer(steward)).json()
    assert {r["unit"] for r in both["items"]} == {UNIT_A, UNIT_B}


def test_reads_of_personal_data_are_audited_with_their_subjects(
        app_client: TestClient, fresh_engine: Engine,
        make_user: Callable[..., tuple[str, str]]) -> None:
    _records(app_client, fresh_engine)
    name, token = make_user("data_steward")
    items = app_client.get("/api/v1/records/tthc.dossier", headers=bearer(token)).json()["items"]
    pseudonym = items[0]["applicant_id"]
    assert pseudonym
    assert len(pseudonym) == 64
    with fresh_engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.actor == f"user:{name}")
                             ).mappings().one()
    assert pseudonym in entry["subjects"]
    assert entry["action"] == "GET /api/v1/records/{feed}"
    mine = app_client.get("/my-data", params={"pseudonym": pseudonym})
    assert mine.status_code == 200
    assert "data_steward" in mine.text
    assert name not in mine.text


def test_sign_in_lock_out_and_csrf(app_client: TestClient, fresh_engine: Engine,
                                   make_user: Callable[..., tuple[str, str]]) -> None:
    name, _ = make_user("operator", password=PASSWORD)
    assert app_client.get("/admin/users", follow_redirects=False).status_code == 303
    ok = sign_in(app_client, name, PASSWORD)
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    page = app_client.get("/admin/users")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    forged = app_client.post("/admin/users", data={"name": "mallory"}, follow_redirects=False)
    assert forged.status_code == 403  # no CSRF token: refused, nothing written
    added = app_client.post("/admin/users", data={"name": "alice", "csrf": csrf.group(1)},
                            follow_redirects=False)
    assert added.status_code == 303
    with fresh_engine.connect() as conn:
        assert accounts.user_row(conn, "alice") is not None
        assert accounts.user_row(conn, "mallory") is None
        results = [r.result for r in conn.execute(select(audit_log.c.result, audit_log.c.action)
                                                  .order_by(audit_log.c.seq))]
    assert "denied 403" in results
    assert "committed" in results
    # sign-in without the form's CSRF token is refused too
    app_client.cookies.clear()
    assert app_client.post("/signin", data={"name": name, "password": PASSWORD},
                           follow_redirects=False).status_code == 403
    # lock-out: five failures lock the account; the right password then fails too
    for _ in range(accounts.MAX_FAILURES):
        assert sign_in(app_client, name, "wrong password!").status_code == 401
    locked = sign_in(app_client, name, PASSWORD)
    assert locked.status_code == 401
    assert "khóa" in locked.text
    with fresh_engine.connect() as conn:
        signins = [r.result for r in conn.execute(
            select(audit_log.c.result).where(audit_log.c.action == "sign-in password")
            .order_by(audit_log.c.seq))]
    assert signins == ["ok", *["failed"] * 4, "failed, locked", "locked"]


def test_api_tokens(app_client: TestClient, make_user: Callable[..., tuple[str, str]]) -> None:
    name, token = make_user("auditor")
    me = app_client.get("/api/v1/me", headers=bearer(token)).json()
    assert me["name"] == name
    assert "auditor" in me["roles"]
    assert app_client.get("/api/v1/me", headers=bearer(token + "x")).status_code == 401
    assert app_client.get("/api/v1/me").status_code == 401
    assert app_client.get("/api/v1/audit", headers=bearer(token)).status_code == 200
