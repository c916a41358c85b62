"""Single-run work: what must run in exactly one of the server processes sharing a database.

:func:`run_once` runs a piece of background work (the score follower, the audit checkpoints,
pruning the change stream; alerts, schedulers and exporters as they come) in the one process
that holds a PostgreSQL session-level advisory lock named after it. The lock lives on a
connection of its own: when the holding process dies, its connection closes and PostgreSQL
releases the lock; another process, retrying every ``retry`` seconds, takes it and the work
over. A holder checks its connection every ``retry`` seconds and stops the work when the
connection (and so the lock) is gone. On SQLite, which serves one process, the work simply
runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy import Engine

from chiso.store.db import libpq_url

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The advisory lock's key for ``name``: a stable signed 64-bit number."""
    digest = hashlib.blake2b(f"chiso:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


#: The environment variable naming the server a process belongs to (``chiso serve`` sets it
#: to its own process id for the processes it starts).
SERVER_ID = "CHISO_SERVER_ID"


def owner() -> str:
    """Which server this process belongs to: ``CHISO_SERVER_ID`` when a ``chiso serve`` started
    it, else its own process id."""
    return os.environ.get(SERVER_ID) or str(os.getpid())


def application_name(name: str) -> str:
    """How the connection holding ``name``'s lock is named in ``pg_stat_activity``:
    ``chiso-single-run:<name>@<owner>``, so an operator (or a test) sees who holds what."""
    return f"chiso-single-run:{name}@{owner()}"[:63]


def _take(url: str, name: str, key: int) -> psycopg.Connection[Any] | None:
    # the connection takes the holder's name only once it holds the lock: a standby trying
    # it is never seen in pg_stat_activity as holding it
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=5,
                               application_name=f"chiso-standby:{name}@{owner()}"[:63])
    except psycopg.Error:
        return None  # the database is away: try again later
    try:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if row and row[0]:
            conn.execute("SELECT set_config('application_name', %s, false)",
                         (application_name(name),))
            return conn
    except psycopg.Error:
        pass
    conn.close()
    return None


def _alive(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


async def run_once(name: str, engine: Engine, work: Callable[[], Awaitable[None]], *,
                   retry: float = 2.0, held: set[str] | None = None) -> None:
    """Run ``work()`` while this process holds the lock ``name`` (until cancelled). ``held``
    (the runtime's) names the single-run work this process holds at the moment. Work that
    ends or fails is started again after ``retry`` seconds, under the lock again."""
    held = held if held is not None else set()
    if engine.dialect.name != "postgresql":
        held.add(name)
        try:
            await work()
        finally:
            held.discard(name)
        return
    url, key = libpq_url(engine), lock_key(name)
    while True:
        conn = await asyncio.to_thread(_take, url, name, key)
        if conn is None:
            await asyncio.sleep(retry)
            continue
        log.info("single-run %s: this process holds it", name)
        held.add(name)
        task = asyncio.ensure_future(work())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=retry)
                if not task.done() and not await asyncio.to_thread(_alive, conn):
                    log.warning("single-run %s: lock connection lost; stopping the work", name)
                    break
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("single-run %s failed", name, exc_info=task.exception())
        finally:
            held.discard(name)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await asyncio.to_thread(conn.close)  # closing the session releases the lock
        await asyncio.sleep(retry)
