"""The change stream: changed values announced to subscribers after their batch commits.

The incremental path leaves the day-state rows it changed on the connection
(``conn.info``); when the transaction commits they are marked ready, and when the connection
goes back to the pool (after the commit has completed) they are published to every
subscriber of the in-process :data:`HUB`. A rolled-back batch announces nothing.

One process only: several server processes each see only their own batches. A multi-process
deployment sends the same payload with PostgreSQL ``NOTIFY chiso_values`` inside the batch's
transaction (delivered at commit) and has every process ``LISTEN`` and feed its hub.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import Pool

from chiso.catalog.indicators import Kind
from chiso.measurement.incremental import DayChange, definitions

_CHANGES = "chiso.changes"
_PUBLISHED = "chiso.published"
_READY = "chiso.ready"


#: Bounds: each subscriber's queue, and how many subscribers the hub serves at once.
QUEUE_ITEMS = 1_000
MAX_SUBSCRIBERS = 500


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_ITEMS))
    overflowed: bool = False

    def put(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            try:
                self.queue.put_nowait(item)
            except asyncio.QueueFull:
                self.overflowed = True
                return


class StreamFullError(RuntimeError):
    """The hub has as many subscribers as it serves; the client should retry later."""


class Hub:
    """In-process fan-out of value announcements to SSE subscribers (thread-safe), at most
    ``max_subscribers`` of them (each holds a queue of up to ``QUEUE_ITEMS`` items)."""

    def __init__(self, max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self.max_subscribers = max_subscribers

    def subscribe(self, *, bounded: bool = True) -> Subscriber:
        """A new subscriber; ``StreamFullError`` when full (``bounded=False``: chiso's own
        in-process followers, a fixed few, never refused)."""
        sub = Subscriber(asyncio.get_running_loop())
        with self._lock:
            if bounded and len(self._subs) >= self.max_subscribers:
                raise StreamFullError(f"the change stream already serves "
                                      f"{self.max_subscribers} clients; retry in a minute")
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.put, items)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(sub)


HUB = Hub()


def day_event(c: DayChange, kinds: dict[str, tuple[Kind, float]] | None = None
              ) -> dict[str, Any]:
    if kinds is None:
        kinds = {code: (i.kind, float(i.scale)) for code, i in definitions().indicators.items()}
    kind, scale = kinds.get(c.indicator, (Kind.count, 1.0))
    value: float | None = c.num
    if kind is Kind.ratio:
        value = float(c.num / c.den * scale) if c.den else None
    elif kind is Kind.distinct_count:
        value = None  # not additive: read /values for the period
    return {"indicator": c.indicator, "unit": c.unit, "period": c.day.isoformat(),
            "value": value, "numerator": c.num, "denominator": c.den, "records": c.records,
            "as_of": c.as_of.isoformat()}


def published_event(item: tuple[str, str, str, float, datetime]) -> dict[str, Any]:
    ind, unit, period, value, as_of = item
    return {"indicator": ind, "unit": unit, "period": period, "value": value,
            "published": True, "as_of": as_of.isoformat()}


def _on_commit(conn: Connection) -> None:
    info = conn.info
    if _CHANGES in info or _PUBLISHED in info:
        if not HUB.subscribers:  # nobody listens: nothing to build
            info.pop(_CHANGES, None)
            info.pop(_PUBLISHED, None)
            return
        kinds = {code: (i.kind, float(i.scale)) for code, i in definitions().indicators.items()}
        ready = info.setdefault(_READY, [])
        ready.extend(day_event(c, kinds) for c in info.pop(_CHANGES, []))
        ready.extend(published_event(p) for p in info.pop(_PUBLISHED, []))


def _on_rollback(conn: Connection) -> None:
    conn.info.pop(_CHANGES, None)
    conn.info.pop(_PUBLISHED, None)


def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    if record is None:
        return
    ready = record.info.pop(_READY, None)
    if ready:
        HUB.publish(ready)


_installed = False


def install() -> None:
    """Publish committed changes to :data:`HUB` (idempotent; every engine of the process)."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "commit", _on_commit)
    event.listen(Engine, "rollback", _on_rollback)
    event.listen(Pool, "checkin", _on_checkin)
    _installed = True
