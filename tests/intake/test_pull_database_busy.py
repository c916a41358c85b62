"""A scheduled pull connector outlives a database that is busy for longer than it waits: that
run fails and is said, the next one stores the page (SQLite: a writer holding the lock)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import threading
import time
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from chiso.catalog.loader import Catalog
from chiso.intake.pull import Connector, PullRunner
from chiso.intake.settings import IntakeSettings
from chiso.store.tables import FEED_TABLES
from chiso_sim.hanoi import dossier_stream
from chiso_sim.servers import PullSource, ServerThread, pull_app

SETTINGS = IntakeSettings(pseudonym_key="sim-key")  # type: ignore[arg-type]


def _stored(engine: Engine, source: str) -> int:
    table = FEED_TABLES["tthc.dossier"][1]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)
                                .where(table.c.source == source)).scalar_one())


def test_a_locked_database_fails_one_run_not_the_connector(
        fresh_engine: Engine, catalog: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    if fresh_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL waits for a lock instead of failing")
    records = list(itertools.islice(dossier_stream(3, date(2026, 4, 1), 2), 300))
    path = fresh_engine.url.database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer, longer than the 10 s busy timeout
    stop = asyncio.Event()
    with ServerThread(pull_app(PullSource(records))) as server:
        connector = Connector("busy", "tthc.dossier", "dvc-busy", server.url, page_size=100,
                              interval_seconds=0.5)
        runner = PullRunner(fresh_engine, connector, catalog, SETTINGS)
        loop = asyncio.new_event_loop()
        failed: list[BaseException] = []

        def run() -> None:
            try:
                loop.run_until_complete(runner.run_forever(stop))
            except BaseException as exc:
                failed.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        with caplog.at_level(logging.WARNING, logger="chiso.intake.pull"):
            thread.start()
            deadline = time.monotonic() + 30
            while "the database failed" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.2)
            holder.execute("ROLLBACK")
            holder.close()
            while _stored(fresh_engine, "dvc-busy") < len(records) and not failed \
                    and time.monotonic() < deadline + 30:
                time.sleep(0.2)
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=30)
    assert not failed, failed
    assert "connector busy: the database failed (database is locked)" in caplog.text
    assert _stored(fresh_engine, "dvc-busy") == len(records)
