"""Task evidence and alerts on both databases: evidence uploaded through the API (hash stored,
the task no longer due with no evidence, another unit's officer refused); alerts delivered to
a real local SMTP server (aiosmtpd) and a real webhook receiver on loopback, once each,
deduplicated on a second run, signed, and escalated once after the configured delay."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.conftest import role_headers
from tests.factories import send_months
from tests.outlook.smtp_inbox import Inbox

from chiso.catalog.loader import Catalog
from chiso.config import Settings
from chiso.outlook.alerts import SIGNATURE_HEADER, load_rules, run_alerts, sign
from chiso.outlook.live import unit_task_warnings
from chiso.web import deps

TASK_URL = "/api/v1/plans/131-KH-UBND/tasks/PL02.2/evidence"  # led by SKHCN, due 30/06/2026
SOON = date(2026, 6, 10)


def _due_soon(engine: Engine, catalog: Catalog) -> set[str]:
    with engine.connect() as conn:
        got = unit_task_warnings(conn, catalog, "SKHCN", SOON, 30)
    return {w["task"] for w in got["warnings"] if w["kind"] == "due_soon_no_evidence"}


def test_evidence_upload(fresh_engine: Engine, fresh_client: TestClient,
                         catalog: Catalog) -> None:
    fresh_client.app.dependency_overrides[deps.today] = lambda: SOON  # type: ignore[attr-defined]
    assert "PL02.2" in _due_soon(fresh_engine, catalog)
    officer = role_headers(fresh_engine, "unit_officer", "SKHCN")
    content = b"%PDF-1.4 bien ban nghiem thu"
    r = fresh_client.post(TASK_URL, headers=officer,
                          files={"file": ("bienban.pdf", content, "application/pdf")},
                          data={"note": "Biên bản"})
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["sha256"] == hashlib.sha256(content).hexdigest()
    assert got["size"] == len(content)
    assert got["uploaded_by"].startswith("user:unit_officer-")
    assert got["unit"] == "SKHCN"
    link = fresh_client.post(TASK_URL, headers=officer,
                             json={"url": "https://example.gov.vn/qd-123.pdf"})
    assert link.status_code == 201, link.text
    assert link.json()["kind"] == "link"
    listed = fresh_client.get(TASK_URL, headers=role_headers(fresh_engine, "viewer")).json()
    assert next(e["sha256"] for e in listed["evidence"]) == got["sha256"]
    assert "content" not in listed["evidence"][0]
    assert "PL02.2" not in _due_soon(fresh_engine, catalog)

    other = role_headers(fresh_engine, "unit_officer", "00070")
    refused = fresh_client.post(TASK_URL, headers=other, json={"url": "https://x.vn/a"})
    assert refused.status_code == 403
    assert fresh_client.get(TASK_URL, headers=other).status_code == 403
    assert fresh_client.post(TASK_URL, json={"url": "https://x.vn/a"}).status_code == 401
    assert fresh_client.post(TASK_URL, headers=officer, json={}).status_code == 422


# -- alerts: a real SMTP server and a real webhook receiver -----------------------------------



@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[list[tuple[dict[str, str], bytes]], str]]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


TODAY = date(2026, 7, 20)
SECRET = "s3cret-for-tests"


def test_alerts_deliver_once_dedup_and_escalate(
        fresh_engine: Engine, catalog: Catalog, fresh_client: TestClient,
        smtp: tuple[Inbox, int], webhook: tuple[list[tuple[dict[str, str], bytes]], str],
) -> None:
    inbox, port = smtp
    hooks, url = webhook
    settings = Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=port,
                        alert_webhook_url=url, alert_webhook_secret=SECRET)
    rules = replace(load_rules(), units=("00070",))
    send_months(fresh_engine, "00070", {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})

    first = run_alerts(fresh_engine, settings, TODAY, catalog, rules)
    assert first["raised"] > 0
    assert first["escalated"] == 0
    alerts = fresh_client.get("/api/v1/alerts", params={"unit": "00070"},
                              headers=role_headers(fresh_engine, "unit_officer", "00070"))
    assert alerts.status_code == 200, alerts.text
    rows = alerts.json()["alerts"]
    assert len(rows) == first["raised"]
    target = [r for r in rows if r["kind"] == "target" and r["item_id"] == "I.11"]
    assert target
    assert target[0]["status"] == "chậm tiến độ"
    # each alert: one e-mail to the unit and one webhook call, exactly
    ids = sorted(r["id"] for r in rows)
    assert sorted(int(m["X-Chiso-Alert"].split(":")[0]) for m in inbox.messages) == ids
    assert all(m["To"] == "00070@donvi.hanoi.gov.vn" for m in inbox.messages)
    bodies = [json.loads(b) for _, b in hooks]
    assert sorted(b["alert"] for b in bodies) == ids
    for headers, body in hooks:
        assert headers[SIGNATURE_HEADER.lower()] == sign(SECRET, body)
    i11 = next(b for b in bodies if b["item"] == "I.11")
    assert "Phường Hoàn Kiếm dự kiến đạt" in i11["message"]
    assert all(d["ok"] for r in rows for d in r["deliveries"])
    # another unit's officer sees only its own unit
    other = role_headers(fresh_engine, "unit_officer", "SKHCN")
    assert fresh_client.get("/api/v1/alerts", params={"unit": "00070"},
                            headers=other).status_code == 403

    # second run: nothing new is sent
    sent_mail, sent_hooks = len(inbox.messages), len(hooks)
    again = run_alerts(fresh_engine, settings, TODAY + timedelta(days=1), catalog, rules)
    assert again["raised"] == 0
    assert again["escalated"] == 0
    assert (len(inbox.messages), len(hooks)) == (sent_mail, sent_hooks)

    # past the delay: escalated once, to the tracking agency and the operator
    later = TODAY + timedelta(days=rules.escalate_after_days)
    up = run_alerts(fresh_engine, settings, later, catalog, rules)
    assert up["escalated"] >= 1
    new_mail = inbox.messages[sent_mail:]
    escalated_i11 = [m for m in new_mail if m["X-Chiso-Alert"] ==
                     f"{target[0]['id']}:escalation"]
    assert {m["To"] for m in escalated_i11} == {"TTPVHCC@donvi.hanoi.gov.vn",
                                               rules.operator_email}
    hook_events = [json.loads(b) for _, b in hooks[sent_hooks:]]
    assert [h["event"] for h in hook_events if h["alert"] == target[0]["id"]] == ["escalation"]
    n_mail = len(inbox.messages)
    run_alerts(fresh_engine, settings, later + timedelta(days=30), catalog, rules)
    assert not [m for m in inbox.messages[n_mail:]
                if m["X-Chiso-Alert"].startswith(f"{target[0]['id']}:")], "escalated once"
