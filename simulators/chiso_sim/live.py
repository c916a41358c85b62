"""Simulated systems that keep producing records as a (sped-up) clock passes.

A generator of record versions (``chiso_sim.hanoi``) covers a window of days; ``clocked_batches``
releases each version when the simulated clock reaches its ``updated_at``: everything already
past goes out at once (the backlog), later versions wait for their time, so the systems keep
sending for as long as the demo runs. Memory stays bounded: the stream is read one day of
origin at a time, and only versions of days already begun are held back.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STEP = 0.25  # real seconds between looks at the clock while waiting


@dataclass
class SimClock:
    """Simulated time: ``start`` at creation, then ``speed`` simulated seconds per real second."""

    start: datetime
    speed: float = 1.0
    began: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.began) * self.speed)


def clocked_batches(records: Iterable[dict[str, Any]], clock: SimClock, origin: str,
                    size: int, stop: threading.Event,
                    caught_up: threading.Event | None = None) -> Iterator[list[dict[str, Any]]]:
    """Batches of the versions a system has by ``clock.now()``, until ``stop`` is set.

    ``records`` must come day by day of ``origin`` (the field the first version of a record
    carries as its start, e.g. ``received_at``), as the ``chiso_sim.hanoi`` generators yield
    them; a record whose origin day has not begun yet is not read until it has. A batch goes out
    when it holds ``size`` versions or when the next version lies in the simulated future, so a
    live version waits at most one clock step, never for ``size - 1`` others. ``caught_up`` is
    set the first time the stream has to wait for the clock: the backlog has been handed out."""
    held: list[tuple[datetime, int, dict[str, Any]]] = []
    order = itertools.count()
    batch: list[dict[str, Any]] = []

    def ripe() -> Iterator[list[dict[str, Any]]]:
        nonlocal batch
        now = clock.now()
        while held and held[0][0] <= now:
            batch.append(heapq.heappop(held)[2])
            if len(batch) >= size:
                yield batch
                batch = []

    def wait_for(day: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """Release held versions as they ripen until ``day``'s date begins (forever if None)."""
        nonlocal batch
        while not stop.is_set() and (day is None or clock.now().date() < day.date()):
            yield from ripe()
            if batch:
                yield batch
                batch = []
            if day is None and not held:
                return
            if caught_up is not None:
                caught_up.set()
            stop.wait(STEP)

    for record in records:
        if stop.is_set():
            return
        yield from wait_for(datetime.fromisoformat(record[origin]))
        yield from ripe()
        when = datetime.fromisoformat(record["updated_at"])
        if when <= clock.now():
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
        else:
            heapq.heappush(held, (when, next(order), record))
    yield from wait_for(None)
