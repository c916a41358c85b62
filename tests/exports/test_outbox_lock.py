"""The delivery worker on PostgreSQL notices that it lost the outbox lock (its backend
terminated with ``pg_terminate_backend``, as a dropped connection or a restarted server would
do) and stops delivering while another session holds the lock; it delivers again once it holds
the lock again. SQLite's file lock cannot be lost so: PostgreSQL only."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from chiso.context import Runtime
from chiso.exports import delivery
from chiso.exports.delivery import LOCK_KEY, Deliverer, RetryPolicy
from chiso.store import outbox
from chiso_sim.receiver import Receiver, receiver_app
from chiso_sim.servers import ServerThread

SECRET = "a-test-secret-of-enough-length"
HOLDER = text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
              "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
              "AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = :k")


def _until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rx = Receiver(SECRET)
    with ServerThread(receiver_app(rx)) as server:
        yield rx, server.url


def test_a_worker_that_lost_its_lock_stops_delivering_until_it_holds_it_again(
        fresh_runtime: Runtime, receiver: tuple[Receiver, str],
        caplog: pytest.LogCaptureFixture) -> None:
    rt = fresh_runtime
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    rx, base = receiver

    def put(key: str) -> None:
        with rt.engine.begin() as conn:
            outbox.enqueue(conn, channel="export:emc", event="test.event", url=base + "/emc",
                           key=key, payload={"key": key}, now=datetime.now(UTC))

    def holder() -> int | None:
        with rt.engine.connect() as conn:
            return conn.execute(HOLDER, {"k": LOCK_KEY}).scalar()

    worker = Deliverer(rt.engine, lambda _c, _ch: SECRET,
                       policy=RetryPolicy(max_attempts=5, initial=0.1, maximum=0.2), timeout=2)
    stop = threading.Event()
    thread = threading.Thread(target=delivery.run, args=(worker, stop),
                              kwargs={"poll": 0.1}, daemon=True)
    caplog.set_level(logging.WARNING, logger="chiso.exports.delivery")
    thread.start()
    other = rt.engine.connect()  # another process's session, waiting for the lock
    try:
        put("before")
        _until(lambda: "before" in rx.applied, 10, "the first delivery")
        worker_pid = holder()
        assert worker_pid is not None

        # Queue for the lock, then cut the worker's lock connection: the waiting session
        # gets the lock the moment the server releases it.
        waiting = threading.Thread(target=lambda: (
            other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY}),
            other.commit()), daemon=True)
        waiting.start()
        _until(lambda: _waits(rt), 5, "the other session to wait for the lock")
        with rt.engine.connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:p)"),
                                 {"p": worker_pid}).scalar()
        waiting.join(10)
        assert not waiting.is_alive()
        assert holder() != worker_pid

        put("while-lost")
        time.sleep(2.0)  # twenty looks at the outbox by a worker that still delivered
        assert "while-lost" not in rx.applied, "a worker without the lock delivered"
        assert any("lost the outbox lock" in r.getMessage() for r in caplog.records)

        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        other.commit()
        _until(lambda: "while-lost" in rx.applied, 10, "delivery once the lock is held again")
        new_pid = holder()
        assert new_pid is not None
        assert new_pid != worker_pid
        assert rx.state()["applied"] == 2
    finally:
        stop.set()
        thread.join(10)
        other.close()


def _waits(rt: Runtime) -> bool:
    with rt.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )).scalar())
