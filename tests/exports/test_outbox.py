"""The outbox and its delivery worker, on both databases, against the simulated receiver as a
real HTTP server on loopback: written with the change or not at all, signed, retried with
back-off, dead-lettered and requeued, one worker at a time, and nothing lost or applied twice
when the worker process is killed (SIGKILL) mid-delivery and started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from chiso.context import Runtime
from chiso.exports import delivery
from chiso.exports.delivery import Deliverer, RetryPolicy, delivery_lock
from chiso.store import outbox
from chiso.store.tables import outbox_messages
from chiso_sim.receiver import Faults, Receiver, receiver_app
from chiso_sim.servers import ServerThread

SECRET = "a-test-secret-of-enough-length"
T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rx = Receiver(SECRET)
    with ServerThread(receiver_app(rx)) as server:
        yield rx, server.url


def _put(rt: Runtime, url: str, n: int, channel: str = "export:emc") -> list[int]:
    ids = []
    with rt.engine.begin() as conn:
        for i in range(n):
            got = outbox.enqueue(conn, channel=channel, event="test.event", url=url,
                                 key=f"k-{i}", payload={"n": i, "tên": "Hà Nội"}, now=T0)
            assert got is not None
            ids.append(got)
    return ids


def _deliverer(rt: Runtime, clock: Clock, max_attempts: int = 4,
               secret: str = SECRET) -> Deliverer:
    return Deliverer(rt.engine, lambda _c, ch: secret if ch.startswith("export:") else None,
                     policy=RetryPolicy(max_attempts=max_attempts, initial=2, maximum=60),
                     timeout=2, clock=clock)


def test_a_message_exists_exactly_when_its_transaction_commits(fresh_runtime: Runtime) -> None:
    def change_that_fails() -> None:
        with fresh_runtime.engine.begin() as conn:
            outbox.enqueue(conn, channel="export:emc", event="e", url="http://x", key="k",
                           payload={}, now=T0)
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with fresh_runtime.engine.begin() as conn:
        assert outbox.messages(conn) == []
        first = outbox.enqueue(conn, channel="export:emc", event="e", url="http://x",
                               key="k", payload={"a": 1}, now=T0)
        again = outbox.enqueue(conn, channel="export:emc", event="e", url="http://x",
                               key="k", payload={"a": 1}, now=T0)
        other = outbox.enqueue(conn, channel="webhook:1", event="e", url="http://x",
                               key="k", payload={"a": 1}, now=T0)
    assert first is not None
    assert again is None
    assert other not in (None, first)


def test_delivers_signed_with_retries_and_back_off(fresh_runtime: Runtime,
                                                   receiver: tuple[Receiver, str]) -> None:
    rx, base = receiver
    clock = Clock(T0)
    (mid,) = _put(fresh_runtime, base + "/emc", 1)
    httpx.post(base + "/control", json=Faults(fail_next=2).model_dump())
    d = _deliverer(fresh_runtime, clock)
    assert d.deliver_due() == 1  # fails (500)
    assert d.deliver_due() == 0  # backs off: not due yet
    with fresh_runtime.engine.connect() as conn:
        msg = outbox.message(conn, mid)
    assert msg is not None
    assert msg.state == outbox.PENDING
    assert msg.attempts == 1
    assert msg.next_at == T0 + timedelta(seconds=2)
    assert "HTTP 500" in (msg.last_error or "")
    clock.now = T0 + timedelta(seconds=2)
    assert d.deliver_due() == 1  # fails again; waits twice as long
    clock.now += timedelta(seconds=3)
    assert d.deliver_due() == 0
    clock.now += timedelta(seconds=1)
    assert d.deliver_due() == 1
    with fresh_runtime.engine.connect() as conn:
        msg = outbox.message(conn, mid)
        tries = outbox.attempts(conn, [mid])
        (status,) = outbox.status(conn)
    assert msg is not None
    assert msg.state == outbox.DELIVERED
    assert msg.attempts == 3
    assert [(a.attempt, a.outcome, a.status_code) for a in reversed(tries)] == [
        (1, "failed", 500), (2, "failed", 500), (3, "ok", 200)]
    assert rx.state()["applied"] == 1
    assert rx.applied["k-0"] == {"n": 0, "tên": "Hà Nội"}
    assert (status.channel, status.pending, status.delivered, status.dead) == (
        "export:emc", 0, 1, 0)
    assert status.last_success is not None
    assert status.last_error is not None


def test_a_wrong_signature_is_refused_and_dead_letters_then_requeues(
        fresh_runtime: Runtime, receiver: tuple[Receiver, str]) -> None:
    rx, base = receiver
    clock = Clock(T0)
    (mid,) = _put(fresh_runtime, base + "/emc", 1)
    wrong = _deliverer(fresh_runtime, clock, max_attempts=2, secret="not-the-receivers-key")
    for _ in range(2):
        wrong.deliver_due()
        clock.now += timedelta(minutes=5)
    with fresh_runtime.engine.begin() as conn:
        (dead,) = outbox.messages(conn, state=outbox.DEAD)
        assert dead.id == mid
        assert "HTTP 401" in (dead.last_error or "")
        assert outbox.status(conn)[0].dead == 1
        assert outbox.requeue(conn, mid, clock.now)
        assert not outbox.requeue(conn, mid, clock.now)  # no longer dead
    assert rx.state()["rejected"] == 2
    assert rx.state()["applied"] == 0
    assert _deliverer(fresh_runtime, clock).deliver_due() == 1
    assert rx.state()["applied"] == 1


def test_a_message_to_a_channel_that_is_gone_is_dead_lettered_unsent(
        fresh_runtime: Runtime, receiver: tuple[Receiver, str]) -> None:
    rx, base = receiver
    _put(fresh_runtime, base + "/hook", 1, channel="webhook:99")
    _deliverer(fresh_runtime, Clock(T0)).deliver_due()
    with fresh_runtime.engine.connect() as conn:
        (dead,) = outbox.messages(conn, state=outbox.DEAD)
    assert dead.last_error == delivery.GONE
    assert rx.state()["requests"] == 0


def test_a_timeout_after_the_receiver_applied_is_resent_and_applied_once(
        fresh_runtime: Runtime, receiver: tuple[Receiver, str]) -> None:
    rx, base = receiver
    clock = Clock(T0)
    _put(fresh_runtime, base + "/emc", 1)
    httpx.post(base + "/control", json=Faults(delay_seconds=3).model_dump())
    d = _deliverer(fresh_runtime, clock)
    d.deliver_due()  # the client gives up after 2 s; the receiver has applied it
    httpx.post(base + "/control", json=Faults().model_dump())
    clock.now += timedelta(minutes=1)
    d.deliver_due()
    with fresh_runtime.engine.connect() as conn:
        outcomes = [a.outcome for a in reversed(outbox.attempts(conn))]
    assert outcomes == ["failed", "ok"]
    assert rx.state()["applied"] == 1
    assert rx.state()["duplicates"] == 1


def test_one_worker_holds_the_lock(fresh_runtime: Runtime) -> None:
    with delivery_lock(fresh_runtime.engine) as first:
        assert first
        with delivery_lock(fresh_runtime.engine) as second:
            assert not second
    with delivery_lock(fresh_runtime.engine) as again:
        assert again


def _worker(rt: Runtime, base: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHISO_DATABASE_URL": rt.settings.database_url,
           "CHISO_OUTBOX_POLL": "0.1", "CHISO_OUTBOX_TIMEOUT": "5",
           "CHISO_OUTBOX_BACKOFF_INITIAL": "0.2", "CHISO_OUTBOX_BACKOFF_MAX": "1",
           "CHISO_EXPORTERS": json.dumps([{"name": "emc", "url": base + "/emc",
                                           "secret": SECRET}])}
    chiso = Path(sys.executable).parent / "chiso"
    with log.open("ab") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(chiso), "outbox", "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)


def _wait(predicate: object, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, \
            f"timed out waiting for {what}; the worker said: {log.read_text()[-2000:]}"
        time.sleep(0.02)


def test_a_worker_killed_mid_delivery_loses_nothing_and_applies_nothing_twice(
        fresh_runtime: Runtime, receiver: tuple[Receiver, str], tmp_path: Path) -> None:
    rx, base = receiver
    log = tmp_path / "worker.log"
    n = 12
    _put(fresh_runtime, base + "/emc", n)
    # Slow acknowledgements: the receiver applies, then answers 0.8 s later.
    httpx.post(base + "/control", json=Faults(delay_seconds=0.8).model_dump())
    worker = _worker(fresh_runtime, base, log)
    try:
        _wait(lambda: rx.state()["applied"] >= 3, 180, "three messages applied", log)
        worker.send_signal(signal.SIGKILL)  # while the third one's answer is on its way
        worker.wait(10)
        with fresh_runtime.engine.connect() as conn:
            outcomes = [a.outcome for a in outbox.attempts(conn)]
        assert "sending" in outcomes, "the kill should land during a request"
        # Back to normal, with random failures for the second worker to retry through.
        httpx.post(base + "/control", json=Faults(fail_rate=0.3, seed=7).model_dump())
        worker = _worker(fresh_runtime, base, log)

        def all_delivered() -> bool:
            with fresh_runtime.engine.connect() as conn:
                return list(conn.execute(select(outbox_messages.c.state)).scalars()) == [
                    outbox.DELIVERED] * n
        _wait(all_delivered, 180, "every message delivered", log)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    state = rx.state()
    assert sorted(state["order"]) == sorted(f"k-{i}" for i in range(n))  # each once
    assert state["duplicates"] >= 1  # the message cut off by the kill was sent again
    with fresh_runtime.engine.connect() as conn:
        outcomes = [a.outcome for a in outbox.attempts(conn)]
    assert "interrupted" in outcomes
    assert "sending" not in outcomes


def test_the_sign_and_verify_pair() -> None:
    body = b'{"a":1}'
    now = 1_800_000_000
    sig = delivery.sign(SECRET, now, body)
    assert delivery.verify(SECRET, str(now), sig, body, now + 10)
    assert not delivery.verify(SECRET, str(now), sig, body + b" ", now)
    assert not delivery.verify(SECRET, str(now), sig, body, now + 3600)  # a replay
    assert not delivery.verify("another-secret-key", str(now), sig, body, now)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_receiver_that_is_down_costs_one_attempt_a_round(
        fresh_runtime: Runtime, receiver: tuple[Receiver, str]) -> None:
    rx, base = receiver
    down = f"http://127.0.0.1:{_closed_port()}/emc"
    waiting = _put(fresh_runtime, down, 5)
    with fresh_runtime.engine.begin() as conn:  # a receiver that is up, due in the same round
        up = outbox.enqueue(conn, channel="export:emc", event="test.event", url=base + "/emc",
                            key="up-0", payload={"n": 9}, now=T0)
    clock = Clock(T0)
    d = _deliverer(fresh_runtime, clock)
    assert d.deliver_due() == 2  # one refused connection, then the receiver that answers
    with fresh_runtime.engine.connect() as conn:
        tried = [outbox.message(conn, i) for i in waiting]
        delivered = outbox.message(conn, up)
    assert [m.attempts for m in tried if m is not None] == [1, 0, 0, 0, 0]
    assert tried[0] is not None
    assert "ConnectError" in (tried[0].last_error or "")
    assert delivered is not None
    assert delivered.state == outbox.DELIVERED
    assert rx.state()["applied"] == 1
    # the next rounds take the waiting messages one at a time, none lost or skipped for good
    for expected in (1, 1, 1, 1):
        assert d.deliver_due() == expected
    with fresh_runtime.engine.connect() as conn:
        assert [m.attempts for i in waiting if (m := outbox.message(conn, i))] == [1] * 5


def test_an_smtp_server_that_is_down_is_unreachable() -> None:
    from chiso.exports.mail import smtp

    msg = outbox.Message(id=1, channel="mail:alerts", event="e", url="mailto:a@b.vn",
                         idempotency_key="k", body=json.dumps(
                             {"from": "chiso@hanoi.gov.vn", "to": "a@b.vn", "subject": "s",
                              "text": "t"}), created_at=T0, state=outbox.PENDING, attempts=0,
                         next_at=T0, last_error=None, delivered_at=None)
    got = smtp("127.0.0.1", _closed_port(), 2)(msg)
    assert not got.ok
    assert got.unreachable
    assert delivery.destination("mailto:x@y.vn") == delivery.destination("mailto:z@w.vn")
    assert delivery.destination("http://A.vn:8080/x") == "http://a.vn:8080"
