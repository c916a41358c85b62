"""Scores that follow the data: a consumer of the measurement change stream that re-scores the
current periods (this month, this quarter, the year to date) when values change, instead of a
nightly job. Changes are debounced: a burst of batches causes one re-scoring, and at most one
runs at a time. Each finished re-scoring is announced on the same stream (``type: scores``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date

from sqlalchemy import Engine

from chiso.catalog.loader import Catalog
from chiso.context import Hub
from chiso.measurement.periods import Period, today_vn
from chiso.scoring.live import compute

log = logging.getLogger(__name__)
#: A re-scoring waits at least this many times as long as the last one took.
BUSY_SHARE = 4.0


def current_periods(today: date) -> list[str]:
    """The periods whose scores move while data arrives today."""
    return [p.label for p in Period.current(today)]


def rescore(engine: Engine, catalog: Catalog, today: date) -> list[dict[str, object]]:
    """Re-score every method for the current periods; one failure does not stop the others."""
    done: list[dict[str, object]] = []
    if catalog.methods is None:
        return done
    for code in sorted(catalog.methods.versions):
        for period in current_periods(today):
            try:
                done.append(compute(engine, catalog, code, period, today, reason="stream"))
            except Exception:  # a method without a version in force, a database hiccup
                log.exception("re-scoring %s %s failed", code, period)
    return done


async def follow(engine: Engine, catalog: Catalog, hub: Hub, debounce: float = 2.0) -> None:
    """Run until cancelled: wait for value changes on ``hub`` (events naming an indicator;
    the hub's other announcements, such as scores and refreshed tiles, are not changes of
    data), let the burst settle, re-score, and announce the new scores (``Hub.announce``: to
    every process). Single-run work: ``chiso.background`` runs it in one process at a time
    (``chiso.store.leader.run_once``)."""
    sub = hub.subscribe(bounded=False)  # chiso's own follower
    spent = 0.0  # seconds the last re-scoring took
    try:
        while True:
            item = await sub.queue.get()
            if "indicator" not in item:  # scores (ours) and tiles (the board's) move no value
                continue
            # Under a steady stream, re-scorings are spaced so that they take at most about a
            # fifth of the process (the intake beside it comes first).
            await asyncio.sleep(max(debounce, BUSY_SHARE * spent))
            while not sub.queue.empty():
                sub.queue.get_nowait()
            started = time.monotonic()
            done = await asyncio.to_thread(rescore, engine, catalog, today_vn())
            spent = time.monotonic() - started
            # To every process's subscribers: their boards and streams follow the scores too.
            await asyncio.to_thread(hub.announce, [{"type": "scores", **d} for d in done])
    finally:
        hub.unsubscribe(sub)
