"""Webhooks on both databases: operators manage subscriptions through the API; changed values
(debounced), alerts and target statuses, rankings and reports are announced in the change's
transaction and delivered, signed, through the outbox to real HTTP receivers on loopback; a
subscriber that keeps failing is turned off, with the reason shown, until turned on again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.conftest import role_headers
from tests.exports.emc_support import HOAN_KIEM, send
from tests.factories import send_months

from chiso.context import Runtime
from chiso.exports import channels
from chiso.exports.delivery import Deliverer
from chiso.outlook.alerts import load_rules, run_alerts
from chiso.reports import archive
from chiso.runtime import create_app
from chiso.scoring.live import compute
from chiso.store import outbox, webhooks
from chiso_sim.receiver import Faults, Receiver, receiver_app
from chiso_sim.servers import ServerThread

SECRET = "hook-secret-0123456789abcdef"
TODAY = date(2026, 4, 10)


@pytest.fixture
def hook() -> Iterator[tuple[Receiver, str]]:
    rx = Receiver(SECRET)
    with ServerThread(receiver_app(rx)) as server:
        yield rx, server.url + "/hook"


def subscribe(engine: Engine, url: str, events: list[str]) -> int:
    with engine.begin() as conn:
        return webhooks.create(conn, url=url, secret=SECRET, events=events, by="test",
                               now=datetime.now(UTC)).id


def worker(rt: Runtime, ahead: timedelta = timedelta()) -> Deliverer:
    """The runtime's own deliverer (webhook secrets from the table), its clock ``ahead`` of
    the wall clock so that a debounced message is due."""
    d = channels.deliverer(rt.settings, rt.engine)
    d.clock = lambda: datetime.now(UTC) + ahead
    return d


def drain(d: Deliverer) -> None:
    while d.deliver_due():
        pass


def test_operators_manage_subscriptions(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    with TestClient(create_app(rt.settings, rt)) as client:
        op = role_headers(rt.engine, "operator")
        leader = role_headers(rt.engine, "leader")
        body = {"url": "https://hooks.example.vn/chiso", "events": ["alert.raised"]}
        assert client.post("/api/v1/webhooks", json=body, headers=leader).status_code == 403
        made = client.post("/api/v1/webhooks", json=body, headers=op)
        assert made.status_code == 201, made.text
        sub = made.json()
        assert len(sub["secret"]) >= 32
        assert sub["active"] is True
        listed = client.get("/api/v1/webhooks", headers=op).json()
        assert [s["id"] for s in listed] == [sub["id"]]
        assert "secret" not in listed[0]
        bad = client.post("/api/v1/webhooks", headers=op, json={
            "url": "ftp://x", "events": ["alert.raised"]})
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("url:")
        for inside in ("http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/",
                       "http://0.0.0.0:5432/", "http://224.0.0.1/",
                       # the same addresses spelled as the resolver also reads them
                       "http://2852039166/", "http://0xa9fea9fe/", "http://169.254.43518/",
                       "http://169.16689662/", "http://0/"):
            bad = client.post("/api/v1/webhooks", headers=op, json={
                "url": inside, "events": ["alert.raised"]})
            assert bad.status_code == 422, inside
            assert bad.json()["detail"].startswith("url:")
        bad = client.post("/api/v1/webhooks", headers=op, json={
            "url": "https://x.vn", "events": ["everything"]})
        assert bad.status_code == 422
        assert "'everything' is not an event" in bad.json()["detail"]
        bad = client.post("/api/v1/webhooks", headers=op, json={
            "url": "https://x.vn", "events": ["alert.raised"], "secret": "short"})
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("secret:")
        off = client.patch(f"/api/v1/webhooks/{sub['id']}", headers=op,
                           json={"active": False, "events": ["value.changed", "alert.raised"]})
        assert off.json()["active"] is False
        assert off.json()["events"] == ["alert.raised", "value.changed"]
        assert client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=op).json() == []
        assert client.delete(f"/api/v1/webhooks/{sub['id']}", headers=op).status_code == 204
        assert client.get(f"/api/v1/webhooks/{sub['id']}", headers=op).status_code == 404
        assert client.delete(f"/api/v1/webhooks/{sub['id']}", headers=op).status_code == 404


def test_changed_values_are_announced_debounced_and_signed(
        fresh_runtime: Runtime, hook: tuple[Receiver, str]) -> None:
    rt = fresh_runtime
    rx, url = hook
    sid = subscribe(rt.engine, url, ["value.changed"])
    send(rt.engine, HOAN_KIEM, range(10), on_time=True)
    send(rt.engine, HOAN_KIEM, range(10, 20), on_time=False)  # the same subject, again
    with rt.engine.connect() as conn:
        waiting = outbox.messages(conn, channel=webhooks.channel(sid))
    subjects = sorted(m.idempotency_key.rsplit(":", 1)[0] for m in waiting)
    assert len(subjects) == len(set(subjects))  # one message per subject: debounced
    assert "value.changed:tthc.on_time_rate:00070:2026-03" in subjects
    drain(worker(rt))
    assert rx.state()["applied"] == 0  # the burst is still settling
    drain(worker(rt, timedelta(seconds=webhooks.DEBOUNCE_SECONDS + 1)))
    state = rx.state()
    assert state["applied"] == len(subjects)
    assert state["rejected"] == 0
    got = next(b for b in rx.applied.values()
               if b["subject"] == "tthc.on_time_rate:00070:2026-03")
    assert got["event"] == "value.changed"
    assert got["subscription"] == sid
    assert got["data"]["values"] == (
        "/api/v1/indicators/tthc.on_time_rate/values?unit=00070&period=2026-03")
    assert got["data"]["batch"] >= 2  # the newest batch's news, not the first's


def test_alerts_targets_rankings_and_reports_are_announced(
        fresh_runtime: Runtime, hook: tuple[Receiver, str]) -> None:
    rt = fresh_runtime
    rx, url = hook
    subscribe(rt.engine, url, ["alert.raised", "target.status_changed", "ranking.published",
                               "report.issued"])
    send_months(rt.engine, HOAN_KIEM, {1: 8, 2: 9, 3: 8, 4: 9, 5: 8, 6: 9, 7: 8})
    rules = replace(load_rules(), units=(HOAN_KIEM,))
    run_alerts(rt.engine, rt.settings, date(2026, 7, 20), rt.catalog, rules)
    method = sorted(rt.catalog.methods.versions)[0]  # type: ignore[union-attr]
    compute(rt.engine, rt.catalog, method, "2026-03", TODAY)
    draft = archive.save(rt, "monthly", "2026-03", "city", today=TODAY)
    archive.issue(rt, draft.id, number="12", signer="Nguyễn Văn A", issued_on=TODAY,
                  by="user:operator")
    drain(worker(rt, timedelta(seconds=webhooks.DEBOUNCE_SECONDS + 1)))
    events = sorted({b["event"] for b in rx.applied.values()})
    assert events == ["alert.raised", "ranking.published", "report.issued",
                      "target.status_changed"]
    ranking = next(b for b in rx.applied.values() if b["event"] == "ranking.published")
    assert ranking["data"]["method"] == method
    assert ranking["data"]["period"] == "2026-03"
    report = next(b for b in rx.applied.values() if b["event"] == "report.issued")
    assert report["data"]["kind"] == "monthly"
    assert report["data"]["id"] == draft.id
    assert report["data"]["number"] == "12"
    assert report["data"]["files"]
    status = next(b for b in rx.applied.values() if b["event"] == "target.status_changed")
    assert status["data"]["previous_status"] is None
    assert status["data"]["status"]


def test_a_subscriber_that_keeps_failing_is_turned_off_until_turned_on(
        fresh_runtime: Runtime, hook: tuple[Receiver, str]) -> None:
    rt = fresh_runtime
    rx, url = hook
    sid = subscribe(rt.engine, url, ["report.issued"])
    rx.faults = Faults(fail_next=1000)
    now = datetime.now(UTC)
    with rt.engine.begin() as conn:
        webhooks.publish(conn, webhooks.REPORT_ISSUED, "monthly:2026-03:city", {"n": 1}, now)
    d = worker(rt)
    for i in range(rt.settings.outbox_max_attempts):
        d.clock = lambda i=i: datetime.now(UTC) + timedelta(hours=i + 1)
        drain(d)
    with rt.engine.begin() as conn:
        sub = webhooks.get(conn, sid)
        assert sub is not None
        assert not sub.active
        assert "failed 10 times" in (sub.disabled_reason or "")
        assert "HTTP 500" in (sub.disabled_reason or "")
        # turned off: new events are not written for it
        assert webhooks.publish(conn, webhooks.REPORT_ISSUED, "x", {}, now) == []
        webhooks.change(conn, sid, active=True)
        (dead,) = outbox.messages(conn, state=outbox.DEAD)
        assert outbox.requeue(conn, dead.id, now)
    rx.faults = Faults()
    drain(worker(rt))
    assert rx.state()["applied"] == 1
