"""An issued report is e-mailed to its kind's recipients with its DOCX, XLSX and PDF, through
a real SMTP server on loopback; each attempt is recorded on the report, and a server that
does not answer leaves the report issued with the failure recorded."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import date
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import role_headers
from tests.outlook.smtp_inbox import Inbox

from chiso.context import Runtime
from chiso.reports import archive, delivery
from chiso.runtime import create_app

HOAN_KIEM = "00070"
TO = ["vanthu@example.org", "lanhdao@example.org"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _with_recipients(rt: Runtime, port: int) -> Runtime:
    kind = rt.catalog.reports["monthly"].model_copy(update={"recipients": TO})
    catalog = dataclasses.replace(rt.catalog, reports={**rt.catalog.reports, "monthly": kind})
    settings = rt.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    return Runtime(settings, rt.engine, catalog)


def _attachments(msg: Message) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for part in msg.walk():
        name = part.get_filename()
        if name:
            body: Any = part.get_payload(decode=True)
            out[name] = body
    return out


def test_an_issued_report_is_mailed_with_its_files(fresh_runtime: Runtime,
                                                   smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    rt = _with_recipients(fresh_runtime, port)
    draft = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 5))
    assert delivery.deliver(rt, draft.id) == []  # a draft is not sent
    operator = role_headers(rt.engine, "operator")
    with TestClient(create_app(rt.settings, rt)) as api:
        got = api.post(f"/api/v1/reports/{draft.id}/issue", headers=operator,
                       json={"number": "125", "signer": "Nguyễn Văn An",
                             "issued_on": "2026-12-08"})
    assert got.status_code == 200, got.text
    assert [(d["to"], d["sent"]) for d in got.json()["delivery"]] == [(t, True) for t in TO]
    assert sorted(m["To"] for m in inbox.messages) == sorted(TO)
    msg = inbox.messages[0]
    subject = str(make_header(decode_header(msg["Subject"])))
    assert "Báo cáo tháng 2026-11" in subject
    assert "(số 125)" in subject
    files = _attachments(msg)
    stem = f"monthly-2026-11-{HOAN_KIEM}"
    assert sorted(files) == [f"{stem}.docx", f"{stem}.pdf", f"{stem}.xlsx"]
    with rt.engine.connect() as conn:
        stored = archive.file(conn, draft.id, f"{stem}.pdf")
        report = archive.get(conn, draft.id)
    assert stored is not None
    assert files[f"{stem}.pdf"] == stored[1]
    assert report is not None
    assert [d.to for d in report.delivery] == TO


def test_a_server_that_does_not_answer_is_recorded(fresh_runtime: Runtime) -> None:
    rt = _with_recipients(fresh_runtime, _free_port())  # nothing listens there
    draft = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 5))
    archive.issue(rt, draft.id, number="7", signer="Lê Văn C", issued_on=date(2026, 12, 8),
                  by="user:op")
    tried = delivery.deliver(rt, draft.id)
    assert [(d.to, d.sent) for d in tried] == [(t, False) for t in TO]
    with rt.engine.connect() as conn:
        report = archive.get(conn, draft.id)
    assert report is not None
    assert report.status == "issued"
    assert len(report.delivery) == 2
