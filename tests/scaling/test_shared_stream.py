"""The shared change stream and single-run work, inside one test process on PostgreSQL: the
listener delivers each committed event once, in commit order, never a rolled-back one, and
catches up after losing its connection; ``run_once`` runs work in one holder at a time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from tests.conftest import blank_database

from chiso.store import changes, migrate
from chiso.store.db import make_engine
from chiso.store.leader import run_once


@pytest.fixture
def pg(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = make_engine(blank_database("postgresql", tmp_path, request))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def test_the_listener_delivers_committed_events_once_in_order(pg: Engine) -> None:
    got: list[list[dict[str, object]]] = []
    lock = threading.Lock()

    def deliver(items: list[dict[str, object]]) -> None:
        with lock:
            got.append(items)

    listener = changes.Listener(pg, deliver, wait=0.1, reconnect=0.5)
    listener.start()
    try:
        assert listener.listening.wait(10)
        changes.announce_now(pg, [{"n": 1}])
        with pg.connect() as conn:  # rolled back: never announced
            changes.announce(conn, [{"n": 0}])
            conn.rollback()
        changes.announce_now(pg, [{"n": 2}, {"n": 3}])
        _until(lambda: len(got) == 2)
        assert got == [[{"n": 1}], [{"n": 2}, {"n": 3}]]
        # Its connection dies; what is announced meanwhile arrives after it reconnects, once.
        with pg.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = :name AND datname = current_database()"),
                         {"name": changes.APPLICATION})
        changes.announce_now(pg, [{"n": 4}])  # while it waits to reconnect
        _until(lambda: len(got) == 3)
        changes.announce_now(pg, [{"n": 5}])
        _until(lambda: len(got) == 4)
        time.sleep(0.3)
        assert [i["n"] for items in got for i in items] == [1, 2, 3, 4, 5]
    finally:
        listener.stop()


def test_prune_removes_only_old_events(pg: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2027, 3, 1, tzinfo=UTC)
    with pg.begin() as conn:
        changes.announce(conn, [{"n": "old"}], now=now - changes.KEEP - timedelta(minutes=1))
        changes.announce(conn, [{"n": "new"}], now=now - timedelta(minutes=1))
    assert changes.prune(pg, now=now) == 1
    with pg.connect() as conn:
        left = conn.execute(text("SELECT items FROM change_events")).scalars().all()
    assert left == [[{"n": "new"}]]


def test_run_once_runs_in_one_holder_and_hands_over(pg: Engine) -> None:
    async def scenario() -> None:
        running: list[str] = []

        def worker(name: str) -> Callable[[], asyncio.Future[None]]:
            async def work() -> None:
                running.append(name)
                try:
                    await asyncio.Event().wait()
                finally:
                    running.remove(name)
            return lambda: asyncio.ensure_future(work())

        held_a: set[str] = set()
        held_b: set[str] = set()
        a = asyncio.create_task(run_once("job", pg, worker("a"), retry=0.2, held=held_a))
        await asyncio.sleep(0.5)
        b = asyncio.create_task(run_once("job", pg, worker("b"), retry=0.2, held=held_b))
        await asyncio.sleep(1.0)
        assert running == ["a"]
        assert held_a == {"job"}
        assert held_b == set()
        a.cancel()  # the holder stops: its connection closes, the lock is free
        await asyncio.gather(a, return_exceptions=True)
        for _ in range(50):
            if running == ["b"]:
                break
            await asyncio.sleep(0.1)
        assert running == ["b"]
        assert held_b == {"job"}
        assert held_a == set()
        b.cancel()
        await asyncio.gather(b, return_exceptions=True)

    # In a thread of its own: Playwright's browser tests keep an event loop in the main thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()
