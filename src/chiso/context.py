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
from typing import Any

from sqlalchemy import Engine

from chiso.catalog.loader import Catalog
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
    blocks the publisher."""

    def __init__(self, max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self.max_subscribers = max_subscribers
        self.generation = 0  # publications so far: a reader's kept answer is older if it moved

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
            self.generation += 1
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.put, items)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(sub)


@dataclass(eq=False)
class Runtime:
    """The settings, the database, the catalog and the change hub of one running chiso.

    ``caches`` holds the rooms' read caches, keyed by the room's own name, so that a cache
    lives exactly as long as the runtime whose data it caches."""

    settings: Settings
    engine: Engine
    catalog: Catalog
    hub: Hub = field(default_factory=Hub)
    caches: dict[str, Any] = field(default_factory=dict)


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
