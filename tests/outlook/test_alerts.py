"""Task evidence and alerts on both databases: evidence uploaded through the API (hash stored,
the task no longer due with no evidence, another unit's officer refused); alerts delivered to
a real local SMTP server (aiosmtpd) and a real webhook receiver on loopback through the
outbox: retried while the server is down and the receiver fails, then delivered once each,
signed; deduplicated on a second run, escalated once after the configured delay; a delivery
that keeps failing dead-lettered and shown with the alert."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.conftest import role_headers
from tests.factories import send_months
from tests.outlook.smtp_inbox import Inbox

from chiso.catalog.loader import Catalog
from chiso.config import Settings
from chiso.exports import channels
from chiso.exports.delivery import Deliverer
from chiso.outlook import evidence
from chiso.outlook.alerts import DEFAULT_RULES, MAIL_CHANNEL, load_rules, run_alerts
from chiso.outlook.live import unit_task_warnings
from chiso.store import outbox
from chiso.web import deps
from chiso_sim.receiver import Faults, Receiver, receiver_app
from chiso_sim.servers import ServerThread

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


# -- alerts: a real SMTP server and a real webhook receiver, through the outbox ---------------


class Mailer:
    """A real SMTP server on a loopback port chosen now, listening only once started."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        with socket.socket() as probe:  # a free port on loopback
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()


@pytest.fixture
def smtp() -> Iterator[Mailer]:
    mailer = Mailer()
    try:
        yield mailer
    finally:
        if mailer.controller is not None:
            mailer.controller.stop()


@pytest.fixture
def hook() -> Iterator[tuple[Receiver, str]]:
    rx = Receiver(SECRET)
    with ServerThread(receiver_app(rx)) as server:
        yield rx, server.url + "/hook"


TODAY = date(2026, 7, 20)
SECRET = "s3cret-for-tests"


def drain(d: Deliverer, seconds: float = 20.0) -> None:
    """Deliver until nothing waits (retries come due after their short back-off)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        d.deliver_due()
        with d.engine.connect() as conn:
            if not outbox.messages(conn, state=outbox.PENDING):
                return
        time.sleep(0.05)
    raise AssertionError("the outbox did not drain")


def test_alerts_go_through_the_outbox_retried_until_delivered(
        fresh_engine: Engine, catalog: Catalog, fresh_client: TestClient, smtp: Mailer,
        hook: tuple[Receiver, str]) -> None:
    inbox = smtp.inbox
    rx, url = hook
    settings = Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp.port,
                        alert_webhook_url=url, alert_webhook_secret=SECRET,
                        outbox_backoff_initial=0.05, outbox_backoff_max=0.2,
                        outbox_max_attempts=20, outbox_timeout=5)
    worker = channels.deliverer(settings, fresh_engine)
    rules = replace(load_rules(), units=("00070",))
    send_months(fresh_engine, "00070", {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})
    officer = role_headers(fresh_engine, "unit_officer", "00070")

    # the SMTP server is not up yet and the receiver fails its first two requests
    rx.faults = Faults(fail_next=2)
    first = run_alerts(fresh_engine, settings, TODAY, catalog, rules)
    assert first["raised"] > 0
    assert first["escalated"] == 0
    assert worker.deliver_due() > 0
    rows = fresh_client.get("/api/v1/alerts", params={"unit": "00070"},
                            headers=officer).json()["alerts"]
    assert len(rows) == first["raised"]
    sent = [d for r in rows for d in r["deliveries"] if d["channel"] != "app"]
    assert {d["channel"] for d in sent} == {"email", "webhook"}
    mails = [d for d in sent if d["channel"] == "email"]
    assert not any(d["ok"] for d in mails)
    assert all(d["state"] == "pending" for d in mails), sent
    # the SMTP server refused the first e-mail's connection: the others wait for the next
    # round untried, instead of each being refused in turn
    assert sorted(d["attempts"] for d in mails) == [0] * (len(mails) - 1) + [1], sent
    assert all("ConnectionRefused" in d["detail"] for d in mails if d["attempts"])
    assert inbox.messages == []
    # the alerts page says the e-mail tried and failed, not merely that it waits
    page = fresh_client.get("/canh-bao", params={"unit": "00070", "lang": "vi"},
                            headers=officer)
    assert page.status_code == 200
    assert "chưa gửi được: 1 lần gửi không thành công, đang thử lại" in page.text

    smtp.start()
    drain(worker)
    unknown = fresh_client.get("/api/v1/alerts", params={"unit": "zzz"},
                               headers=role_headers(fresh_engine, "operator"))
    assert unknown.status_code == 404  # not a unit with no alerts
    assert unknown.json()["detail"].startswith("unit: no unit 'zzz'")
    rows = fresh_client.get("/api/v1/alerts", params={"unit": "00070"},
                            headers=officer).json()["alerts"]
    target = [r for r in rows if r["kind"] == "target" and r["item_id"] == "I.11"]
    assert target
    assert target[0]["status"] == "chậm tiến độ"
    ids = sorted(r["id"] for r in rows)
    # each alert: one e-mail to the unit and one webhook call, exactly, after the retries
    assert sorted(int(m["X-Chiso-Alert"].split(":")[0]) for m in inbox.messages) == ids
    assert all(m["To"] == "00070@donvi.hanoi.gov.vn" for m in inbox.messages)
    assert len({m["Message-ID"] for m in inbox.messages}) == len(ids)
    state = rx.state()
    assert state["rejected"] == 0, "every webhook call is signed over timestamp and body"
    assert state["failed"] == 2
    assert state["applied"] == len(ids)
    bodies = list(rx.applied.values())
    assert sorted(b["alert"] for b in bodies) == ids
    i11 = next(b for b in bodies if b["item"] == "I.11")
    assert "Phường Hoàn Kiếm dự kiến đạt" in i11["message"]
    done = [d for r in rows for d in r["deliveries"]]
    assert all(d["ok"] for d in done), done
    assert all(d["state"] == "delivered" for d in done if d["channel"] != "app")
    assert max(d["attempts"] for d in done if d["channel"] == "email") >= 2
    # another unit's officer sees only its own unit
    other = role_headers(fresh_engine, "unit_officer", "SKHCN")
    assert fresh_client.get("/api/v1/alerts", params={"unit": "00070"},
                            headers=other).status_code == 403

    # second run: nothing new is written, nothing sent
    sent_mail, applied = len(inbox.messages), len(rx.applied)
    again = run_alerts(fresh_engine, settings, TODAY + timedelta(days=1), catalog, rules)
    assert again["raised"] == 0
    assert again["escalated"] == 0
    assert worker.deliver_due() == 0
    assert (len(inbox.messages), len(rx.applied)) == (sent_mail, applied)

    # past the delay: escalated once, to the tracking agency and the operator
    later = TODAY + timedelta(days=rules.escalate_after_days)
    up = run_alerts(fresh_engine, settings, later, catalog, rules)
    assert up["escalated"] >= 1
    drain(worker)
    new_mail = inbox.messages[sent_mail:]
    escalated_i11 = [m for m in new_mail if m["X-Chiso-Alert"] ==
                     f"{target[0]['id']}:escalation"]
    assert {m["To"] for m in escalated_i11} == {"TTPVHCC@donvi.hanoi.gov.vn",
                                               rules.operator_email}
    new_hooks = [rx.applied[k] for k in rx.order[applied:]]
    assert [h["event"] for h in new_hooks if h["alert"] == target[0]["id"]] == ["escalation"]
    n_mail = len(inbox.messages)
    run_alerts(fresh_engine, settings, later + timedelta(days=30), catalog, rules)
    drain(worker)
    assert not [m for m in inbox.messages[n_mail:]
                if m["X-Chiso-Alert"].startswith(f"{target[0]['id']}:")], "escalated once"


def test_an_alert_delivery_that_keeps_failing_is_dead_lettered_and_shown(
        fresh_engine: Engine, catalog: Catalog, fresh_client: TestClient,
        hook: tuple[Receiver, str]) -> None:
    _, url = hook
    with socket.socket() as probe:  # nothing listens there: every e-mail is refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=closed,
                        alert_webhook_url=url, alert_webhook_secret=SECRET,
                        outbox_backoff_initial=0.01, outbox_backoff_max=0.02,
                        outbox_max_attempts=3)
    worker = channels.deliverer(settings, fresh_engine)
    send_months(fresh_engine, "00070", {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})
    run_alerts(fresh_engine, settings, TODAY, catalog, replace(load_rules(), units=("00070",)))
    drain(worker)
    rows = fresh_client.get("/api/v1/alerts", params={"unit": "00070"}, headers=role_headers(
        fresh_engine, "unit_officer", "00070")).json()["alerts"]
    mails = [d for r in rows for d in r["deliveries"] if d["channel"] == "email"]
    assert mails
    assert all(d["state"] == "dead" and d["attempts"] == 3 and not d["ok"]
               for d in mails), mails
    assert all(d["state"] == "delivered" for r in rows for d in r["deliveries"]
               if d["channel"] == "webhook")
    with fresh_engine.connect() as conn:
        dead = outbox.messages(conn, state=outbox.DEAD, channel=MAIL_CHANNEL)
    assert len(dead) == len(mails)


def test_a_units_listed_contacts_receive_its_alerts(
        fresh_engine: Engine, catalog: Catalog, smtp: Mailer, tmp_path: Path) -> None:
    smtp.start()
    settings = Settings(database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=smtp.port,
                        outbox_backoff_initial=0.05, outbox_backoff_max=0.2, outbox_timeout=5)
    own = tmp_path / "rules.yaml"
    own.write_text(load_rules_text().replace(
        "contacts: {}", "contacts:\n  '00070': [vanphong@hoankiem.hanoi.gov.vn, "
        "cds@hoankiem.hanoi.gov.vn]"), encoding="utf-8")
    rules = replace(load_rules(own), units=("00070",))
    assert rules.mailboxes("00070") == ["vanphong@hoankiem.hanoi.gov.vn",
                                        "cds@hoankiem.hanoi.gov.vn"]
    assert rules.mailboxes("00004") == ["00004@donvi.hanoi.gov.vn"]  # not listed: the pattern
    send_months(fresh_engine, "00070", {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})
    raised = run_alerts(fresh_engine, settings, TODAY, catalog, rules)["raised"]
    assert raised > 0
    drain(channels.deliverer(settings, fresh_engine))
    assert sorted(m["To"] for m in smtp.inbox.messages) == sorted(
        ["vanphong@hoankiem.hanoi.gov.vn", "cds@hoankiem.hanoi.gov.vn"] * raised)


@pytest.mark.parametrize("contacts", ["contacts: [a@b.vn]", "contacts: {SKHCN: []}",
                                      "contacts: {SKHCN: [not-an-address]}"])
def test_contacts_that_are_not_addresses_are_refused(tmp_path: Path, contacts: str) -> None:
    own = tmp_path / "rules.yaml"
    own.write_text(load_rules_text().replace("contacts: {}", contacts), encoding="utf-8")
    with pytest.raises(ValueError, match="contacts"):
        load_rules(own)


def load_rules_text() -> str:
    return DEFAULT_RULES.read_text(encoding="utf-8")


def test_the_alerts_page_shows_a_units_alerts_to_its_officer_only(
        fresh_engine: Engine, catalog: Catalog, fresh_client: TestClient) -> None:
    settings = Settings(database_url="sqlite://")
    rules = replace(load_rules(), units=("00070",))
    send_months(fresh_engine, "00070", {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})
    raised = run_alerts(fresh_engine, settings, TODAY, catalog, rules)["raised"]
    assert raised > 0
    officer = role_headers(fresh_engine, "unit_officer", "00070")
    page = fresh_client.get("/canh-bao", headers=officer)
    assert page.status_code == 200, page.text
    assert page.text.count('<tr id="alert-') == raised
    assert 'data-unit="00070"' in page.text
    assert "Phường Hoàn Kiếm dự kiến đạt" in page.text  # the sentence to act on
    assert "Chậm tiến độ" in page.text
    english = fresh_client.get("/canh-bao", params={"lang": "en"}, headers=officer)
    assert "Behind" in english.text
    assert "Phường Hoàn Kiếm dự kiến đạt" not in english.text
    other = role_headers(fresh_engine, "unit_officer", "SKHCN")
    assert fresh_client.get("/canh-bao", params={"unit": "00070"},
                            headers=other).status_code == 403
    own = fresh_client.get("/canh-bao", headers=other)
    assert own.status_code == 200
    assert '<tr id="alert-' not in own.text
    leader = role_headers(fresh_engine, "leader")
    assert fresh_client.get("/canh-bao", headers=leader).text.count('<tr id="alert-') == raised
    anonymous = fresh_client.get("/canh-bao", follow_redirects=False)
    assert anonymous.status_code in (303, 401)  # signed-in readers only


@pytest.mark.parametrize(("sent", "kept"), [
    ("../../../../tmp/evpwn<script>.pdf", "evpwn<script>.pdf"),
    ("C:\\Users\\cb\\Desktop\\biên bản.pdf", "biên bản.pdf"),
    ("bien\r\nban.pdf", "bienban.pdf"), ("..", None), ("", None)])
def test_an_evidence_file_is_kept_under_its_own_name_only(sent: str, kept: str | None) -> None:
    assert evidence.file_name(sent) == kept
