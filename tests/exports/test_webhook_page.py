"""The operator's page of webhook subscriptions on both databases: Vietnamese first; add one
(a secret chiso makes is shown once; a bad field is named, 422), turn it off and on; a
subscriber that keeps failing is turned off by the outbox worker, the page shows the notice
with why and every attempt, and the operator receives the notice by e-mail (a real SMTP server
on loopback) through the same outbox. Auditors read, only operators change."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from tests.factories import bearer, sign_in, user_with_token
from tests.outlook.smtp_inbox import Inbox

from chiso.context import Runtime
from chiso.exports import channels
from chiso.outlook.alerts import load_rules
from chiso.runtime import create_app
from chiso.store import outbox, webhooks
from chiso_sim.receiver import Faults, Receiver, receiver_app
from chiso_sim.servers import ServerThread

SECRET = "hook-secret-0123456789abcdef"
PASSWORD = "mật-khẩu-vận-hành-2026"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_operators_manage_subscriptions_on_the_page(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    name, _ = user_with_token(rt.engine, "operator", password=PASSWORD)
    with TestClient(create_app(rt.settings, rt), base_url="https://testserver") as client:
        assert sign_in(client, name, PASSWORD).status_code == 303
        page = client.get("/admin/webhooks")
        assert page.status_code == 200
        assert "Đăng ký nhận sự kiện (webhook)" in page.text
        assert "Chưa có đăng ký nào." in page.text
        csrf = _csrf(page.text)

        bad = client.post("/admin/webhooks", data={
            "csrf": csrf, "url": "ftp://x.vn", "events": ["alert.raised"],
            "description": "Cổng dữ liệu"})
        assert bad.status_code == 422
        assert "Địa chỉ phải bắt đầu bằng http:// hoặc https://." in bad.text
        assert 'value="Cổng dữ liệu"' in bad.text  # the operator's input is kept
        none = client.post("/admin/webhooks", data={"csrf": csrf, "url": "https://x.vn/h"})
        assert none.status_code == 422
        assert "Chọn ít nhất một sự kiện." in none.text

        made = client.post("/admin/webhooks", data={
            "csrf": csrf, "url": "https://hooks.example.vn/chiso",
            "events": ["alert.raised", "report.issued"], "description": "Cổng dữ liệu"})
        assert made.status_code == 201
        assert "Đã thêm đăng ký số" in made.text
        secret = re.search(r'<code id="secret">([^<]+)</code>', made.text)
        assert secret
        assert len(secret.group(1)) >= 32
        with rt.engine.connect() as conn:
            (sub,) = webhooks.listing(conn)
            assert webhooks.secret_of(conn, webhooks.channel(sub.id)) == secret.group(1)
        assert sub.events == ["alert.raised", "report.issued"]
        assert sub.created_by == name
        listed = client.get("/admin/webhooks")
        assert f'data-subscription="{sub.id}"' in listed.text
        assert secret.group(1) not in listed.text  # shown once only

        off = client.post(f"/admin/webhooks/{sub.id}/disable", data={"csrf": csrf},
                          follow_redirects=False)
        assert off.status_code == 303
        detail = client.get(f"/admin/webhooks/{sub.id}")
        assert '<dd id="state">đã tắt</dd>' in detail.text
        assert "disabled-notice" not in detail.text  # turned off by hand: no failure notice
        client.post(f"/admin/webhooks/{sub.id}/enable", data={"csrf": csrf})
        assert '<dd id="state">đang bật</dd>' in client.get(f"/admin/webhooks/{sub.id}").text
        english = client.get("/admin/webhooks", params={"lang": "en"})
        assert "Webhook subscriptions" in english.text

        # without the form's token a change is refused
        assert client.post(f"/admin/webhooks/{sub.id}/disable",
                           data={}).status_code == 403
        # auditors read, leaders do not, only operators change
        auditor = bearer(user_with_token(rt.engine, "auditor")[1])
        assert client.get("/admin/webhooks", headers=auditor).status_code == 200
        assert client.post(f"/admin/webhooks/{sub.id}/disable",
                           headers=auditor).status_code == 403
        leader = bearer(user_with_token(rt.engine, "leader")[1])
        assert client.get("/admin/webhooks", headers=leader).status_code == 403
        assert client.get("/admin/webhooks/999999", headers=auditor).status_code == 404


def test_a_subscription_turned_off_after_failures_is_a_notice(
        fresh_runtime: Runtime, smtp: tuple[Inbox, int]) -> None:
    rt = fresh_runtime
    inbox, port = smtp
    rx = Receiver(SECRET, faults=Faults(fail_next=1000))
    with ServerThread(receiver_app(rx)) as server:
        with rt.engine.begin() as conn:
            sub = webhooks.create(conn, url=server.url + "/hook", secret=SECRET,
                                  events=["alert.raised"], by="test", now=datetime.now(UTC))
            webhooks.publish(conn, webhooks.ALERT_RAISED, "alert:1", {"alert": 1},
                             datetime.now(UTC))
        settings = rt.settings.model_copy(update={
            "smtp_host": "127.0.0.1", "smtp_port": port, "outbox_max_attempts": 2,
            "outbox_backoff_initial": 0.01, "outbox_backoff_max": 0.01})
        worker = channels.deliverer(settings, rt.engine)
        for _ in range(200):
            worker.deliver_due()
            with rt.engine.connect() as conn:
                if not outbox.messages(conn, state=outbox.PENDING):
                    break
    with rt.engine.connect() as conn:
        found = webhooks.get(conn, sub.id)
        assert found is not None
        assert not found.active
        assert found.disabled_reason is not None
        assert "failed 2 times" in found.disabled_reason
        (notice,) = outbox.messages(conn, channel=channels.NOTICE_CHANNEL)
    assert notice.state == outbox.DELIVERED
    (mail,) = inbox.messages
    assert mail["To"] == load_rules().operator_email
    assert mail["X-Chiso-Notice"] == f"webhook.disabled:{sub.id}"
    assert f"Đăng ký webhook số {sub.id} đã bị tắt" in str(
        make_header(decode_header(mail["Subject"])))
    assert f"/admin/webhooks/{sub.id}" in mail.get_payload(decode=True).decode()

    operator = bearer(user_with_token(rt.engine, "operator")[1])
    with TestClient(create_app(rt.settings, rt)) as client:
        page = client.get("/admin/webhooks", headers=operator)
        assert 'id="disabled-notice"' in page.text
        assert "1 đăng ký đã bị tắt do gửi thất bại nhiều lần" in page.text
        assert f'data-disabled="{sub.id}"' in page.text
        detail = client.get(f"/admin/webhooks/{sub.id}", headers=operator)
        assert "bị tắt do gửi thất bại" in detail.text
        assert detail.text.count('data-attempt="failed"') == 2
        assert "HTTP 500" in detail.text
        assert "thất bại hẳn" in detail.text
