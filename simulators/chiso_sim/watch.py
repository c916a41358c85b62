"""What the demo shows in its terminal: a compact live summary instead of a request log.

``DashboardWatch`` listens to the dashboard's own event stream (``/dashboard/stream``, what an
open page receives) and times each push from its acknowledgement to the first tile it moved;
``Summary`` turns the pushers' counters into one line per period: versions accepted per feed
and per second, the push-to-dashboard time, and the pull connector's outages and recoveries.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from chiso_sim.servers import PullSource, Pusher


@dataclass
class DashboardWatch:
    """Times from an acknowledged push to the next tile event the dashboard sends."""

    url: str
    stop: threading.Event
    tiles: int = 0  # tile events received
    delays: list[float] = field(default_factory=list)
    _pending: float | None = None  # the oldest acknowledgement no tile event has followed yet
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self, at: float) -> None:
        with self._lock:
            if self._pending is None:
                self._pending = at

    def _tile(self, at: float) -> None:
        with self._lock:
            self.tiles += 1
            if self._pending is not None and at >= self._pending:
                self.delays.append(at - self._pending)
                self._pending = None

    def take(self) -> list[float]:
        """The delays measured since the last call."""
        with self._lock:
            out, self.delays = self.delays, []
            return out

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._listen, daemon=True)
        thread.start()
        return thread

    def _listen(self) -> None:
        while not self.stop.is_set():
            try:
                with httpx.stream("GET", f"{self.url}/dashboard/stream",
                                  headers={"Accept": "text/event-stream"},
                                  timeout=httpx.Timeout(5, read=30)) as response:
                    for line in response.iter_lines():
                        if self.stop.is_set():
                            return
                        if line.startswith("event: tile-"):
                            self._tile(time.monotonic())
            except httpx.HTTPError:
                self.stop.wait(1)  # the server restarts or is busy: listen again


@dataclass
class Summary:
    """One line per call: what was accepted since the previous line, and what happened."""

    pushers: Sequence[Pusher]
    source: PullSource
    watch: DashboardWatch
    _last: dict[str, int] = field(default_factory=dict)
    _last_pulled: int = 0
    _at: float = field(default_factory=time.monotonic)
    _events_seen: int = 0

    def lines(self, pulled: int) -> list[str]:
        """The summary since the last call; ``pulled`` is how many versions the connector
        has taken from the source so far."""
        now = time.monotonic()
        seconds = max(now - self._at, 1e-6)
        parts = []
        for pusher in self.pushers:
            new = pusher.accepted - self._last.get(pusher.feed, 0)
            self._last[pusher.feed] = pusher.accepted
            parts.append(f"{pusher.feed} {_rate(new, seconds)}")
        parts.append(f"pulled {_rate(pulled - self._last_pulled, seconds)}")
        self._last_pulled = pulled
        self._at = now
        total = sum(p.accepted for p in self.pushers) + pulled
        delays = self.watch.take()
        shown = (f"push→dashboard median {statistics.median(delays):.1f} s"
                 if delays else "push→dashboard: no tile moved")
        shown += f" ({self.watch.tiles:,} tile updates in all)"
        out = [f"  accepted {total:,} in all; " + ", ".join(parts) + f"; {shown}"]
        events = self.source.events[self._events_seen:]
        self._events_seen += len(events)
        out.extend(f"  {event}" for event in events)
        return out


def _rate(count: int, seconds: float) -> str:
    """Records a second, with a decimal below ten (a live trickle of 0.4/s is not 0/s)."""
    r = count / seconds
    return f"{r:,.1f}/s" if r < 10 else f"{r:,.0f}/s"
