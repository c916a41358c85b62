"""The shared change stream on PostgreSQL: what a committed batch changed, for every process.

A writer calls :func:`announce` inside its transaction: the items go into ``change_events``
as one row, and ``NOTIFY chiso_changes`` carries that row's id (a payload of a few bytes;
PostgreSQL delivers it at commit, in commit order, and never for a rolled-back transaction).
Each server process runs one :class:`Listener`: a thread with a connection of its own that
``LISTEN``s, reads the rows named by the ids it is told, and hands their items to a callback
(the process's change hub). After a lost connection it reconnects and catches up from the
table, so an announcement made while it was away still arrives once. Rows older than
:data:`KEEP` are removed by :func:`prune` (single-run work, see :mod:`chiso.store.leader`).

SQLite serves one process and needs none of this: its stream stays in the process.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, delete, text

from chiso.store.db import libpq_url
from chiso.store.tables import change_events

log = logging.getLogger(__name__)

CHANNEL = "chiso_changes"
APPLICATION = "chiso-change-listener"  # the listener's application_name in pg_stat_activity
KEEP = timedelta(hours=1)  # how long a change event stays readable for a reconnecting listener
_REMEMBER = 10_000  # ids a listener remembers delivering, so a catch-up never repeats one
_CATCH_UP = 1_000  # ids before the newest delivered one a catch-up looks at again

Items = list[dict[str, Any]]


def announce(conn: Connection, items: Items, now: datetime | None = None) -> int | None:
    """Record ``items`` as one change event in the transaction of ``conn`` and notify its id
    (delivered when the transaction commits). Returns the id; ``None`` for no items."""
    if not items:
        return None
    event_id: int = conn.execute(
        change_events.insert().values(created_at=now or datetime.now(UTC), items=items)
        .returning(change_events.c.id)).scalar_one()
    conn.execute(text("SELECT pg_notify(:channel, :id)"),
                 {"channel": CHANNEL, "id": str(event_id)})
    return event_id


def announce_now(engine: Engine, items: Items) -> None:
    """:func:`announce` in a transaction of its own."""
    if items:
        with engine.begin() as conn:
            announce(conn, items)


def prune(engine: Engine, now: datetime | None = None) -> int:
    """Remove change events older than :data:`KEEP`; returns how many."""
    before = (now or datetime.now(UTC)) - KEEP
    with engine.begin() as conn:
        return conn.execute(delete(change_events).where(
            change_events.c.created_at < before)).rowcount


class Listener:
    """One process's ear on the shared stream: ``deliver`` gets each change event's items,
    once, in commit order, on the listener's own thread (it must not block for long)."""

    def __init__(self, engine: Engine, deliver: Callable[[Items], None], *,
                 wait: float = 0.5, reconnect: float = 1.0) -> None:
        self._url = libpq_url(engine)
        self._deliver = deliver
        self._wait, self._reconnect = wait, reconnect
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._last: int | None = None  # the newest id delivered (or found at the first start)
        self.listening = threading.Event()  # set while LISTEN is in force

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="chiso-changes",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._wait + 5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=5,
                                     application_name=APPLICATION) as conn:
                    self._listen(conn)
            except psycopg.Error as exc:
                log.warning("change stream: connection lost (%s); reconnecting",
                            str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
            finally:
                self.listening.clear()
            self._stop.wait(self._reconnect)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"LISTEN {CHANNEL}")
        if self._last is None:  # first start: from now on
            self._last = conn.execute("SELECT coalesce(max(id), 0) FROM change_events"
                                      ).fetchone()[0]  # type: ignore[index]
        else:  # back after a lost connection: what was announced meanwhile
            self._read(conn, None)
        self.listening.set()
        while not self._stop.is_set():
            ids = [n.payload for n in conn.notifies(timeout=self._wait, stop_after=1)]
            if ids:  # a burst: take what else has arrived, without waiting
                ids += [n.payload for n in conn.notifies(timeout=0.001)]
                self._read(conn, [int(i) for i in ids if i.isdigit()])

    def _read(self, conn: psycopg.Connection[Any], ids: list[int] | None) -> None:
        """Deliver the events ``ids`` (in the order given); ``None``: every event after the
        newest delivered one, less a margin for transactions that committed out of id order."""
        if ids is None:
            since = max(0, (self._last or 0) - _CATCH_UP)
            rows = conn.execute("SELECT id, items FROM change_events WHERE id > %s ORDER BY id",
                                (since,)).fetchall()
        else:
            found = dict(conn.execute("SELECT id, items FROM change_events WHERE id = ANY(%s)",
                                      (ids,)).fetchall())
            rows = [(i, found[i]) for i in ids if i in found]
        for event_id, items in rows:
            if event_id in self._seen:
                continue
            self._seen[event_id] = None
            if len(self._seen) > _REMEMBER:
                self._seen.popitem(last=False)
            self._last = max(self._last or 0, event_id)
            try:
                self._deliver(items)
            except Exception:  # one bad consumer must not stop the stream
                log.exception("change stream: delivering event %s failed", event_id)

