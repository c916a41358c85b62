"""What every room shares while chiso runs: the :class:`Runtime`, and the change :class:`Hub`.

Only :func:`chiso.runtime.open_runtime` builds a runtime: it loads the catalog, opens the
database, creates the hub and registers the hooks that let later rooms act inside earlier
rooms' transactions. The rooms receive a runtime (or its parts) as an argument; none of them
keeps one in a module global, and importing a module registers nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from chiso.catalog.loader import Catalog
from chiso.clock import VIETNAM
from chiso.config import Settings

#: Bounds: each subscriber's queue, and how many subscribers a hub serves at once.
QUEUE_ITEMS = 1_000
MAX_SUBSCRIBERS = 500


@dataclass(eq=False)
class Subscriber:
    """One reader of the hub: a bounded queue on the reader's event loop."""

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
    """In-process fan-out of change announcements (values, scores, tiles) to subscribers on
    any event loop, at most ``max_subscribers`` of them; publishing is thread-safe and never
    blocks the publisher.

    :meth:`publish` reaches this process's subscribers; :meth:`announce` reaches every
    process's: through ``outbox`` when the runtime set one (PostgreSQL's shared change stream,
    which comes back to each process's hub), else it is :meth:`publish`."""

    def __init__(self, max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self.max_subscribers = max_subscribers
        # Publications of data (values, scores) so far: a reader's kept answer is older if it
        # moved. The board's own "tiles" announcements move no data and leave it.
        self.generation = 0
        self.outbox: Callable[[list[dict[str, Any]]], None] | None = None

    def announce(self, items: list[dict[str, Any]]) -> None:
        """Announce to the subscribers of every process sharing the database (may write to
        it: call it off the event loop)."""
        if not items:
            return
        if self.outbox is None:
            self.publish(items)
        else:
            self.outbox(items)

    def subscribe(self, *, bounded: bool = True) -> Subscriber:
        """A new subscriber; ``StreamFullError`` when full. ``bounded=False``: chiso's own
        in-process followers (the board, the score follower), a fixed few that drain their
        queue at once: never refused, and their queue has no limit, since an announcement
        they missed would leave a tile or a score stale (one batch may announce thousands of
        values)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_ITEMS if bounded else 0)
        sub = Subscriber(asyncio.get_running_loop(), queue)
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
            if any(item.get("type") != "tiles" for item in items):
                self.generation += 1
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.put, items)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(sub)


class Answer(BaseModel):
    """The base of every room's typed answer (``<room>.answers``): immutable, and open to fields
    an engine adds later, which travel through to the API unchanged."""

    model_config = ConfigDict(extra="allow", frozen=True)


@dataclass(frozen=True)
class Clock:
    """chiso's one clock: now and today in Vietnam (``chiso.clock``). Deadlines, periods and
    as-of times are Vietnamese dates; every room that asks "what day is it" asks the runtime's
    clock. ``fixed`` pins it (replays, reproducible reports)."""

    zone: ZoneInfo = VIETNAM
    fixed: datetime | None = None

    def now(self) -> datetime:
        """The time now, aware, in the clock's zone."""
        if self.fixed is not None:
            return self.fixed.astimezone(self.zone)
        return datetime.now(self.zone)

    def today(self) -> date:
        return self.now().date()



@dataclass(eq=False)
class Runtime:
    """The settings, the database, the catalog and the change hub of one running chiso.

    ``caches`` holds the rooms' read caches, keyed by the room's own name, so that a cache
    lives exactly as long as the runtime whose data it caches. ``services`` are the
    background services the wiring registered for a serving process (the shared change
    stream's listener, loading the forecasting models): :meth:`start` starts each (it
    returns how to stop it), :meth:`stop` stops them; a command that only reads or writes
    never starts them. ``running`` names the single-run work (``chiso.store.leader``) this
    process holds at the moment."""

    settings: Settings
    engine: Engine
    catalog: Catalog
    hub: Hub = field(default_factory=Hub)
    caches: dict[str, Any] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    services: list[Callable[[], Callable[[], None]]] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    #: A streaming replica for read-only queries (``CHISO_READ_DATABASE_URL``), or None.
    reader: Engine | None = None
    _stops: list[Callable[[], None]] | None = None

    @property
    def read_engine(self) -> Engine:
        """Where read-only queries go: the replica when one is set, else the database."""
        return self.reader if self.reader is not None else self.engine

    def start(self) -> None:
        """Start the background services (once; a second call does nothing)."""
        if self._stops is None:
            self._stops = [service() for service in self.services]

    def stop(self) -> None:
        """Stop what :meth:`start` started, last first."""
        for stop in reversed(self._stops or []):
            stop()
        self._stops = None


#: How the running ``chiso`` command opens its runtime: set by ``chiso.cli`` before any
#: sub-command runs, so that a room's sub-command never wires anything itself.
command_opener: ContextVar[Callable[[], Runtime] | None] = ContextVar("command_opener",
                                                                      default=None)


def command_runtime() -> Runtime:
    """The runtime of the running ``chiso`` command (see :data:`command_opener`)."""
    opener = command_opener.get()
    if opener is None:
        raise RuntimeError("chiso's sub-commands run under the `chiso` command (chiso.cli)")
    return opener()
