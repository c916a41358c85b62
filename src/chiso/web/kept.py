"""Answers kept across requests for the hot reads (rankings, indicator values, the map): an
answer is served from memory, on the event loop, while the one-query state mark it was made
under is unchanged and nothing was announced on the runtime's hub since; one request at a time
re-checks the mark, the others get the kept answer meanwhile (docs/scaling.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chiso.context import Runtime

#: How long one request's re-check stands for all: past it (a check that failed before
#: :func:`keep`), the next request checks again.
CHECK_SECONDS = 5.0


def kept_answer(rt: Runtime, cache: str, key: tuple[Any, ...]) -> bytes | None:
    """An answer kept by :func:`keep` under ``key``, when its state mark was checked less than
    ``rankings_recheck`` seconds ago and no data was announced on the hub since (a batch
    committed in this process or another announces itself): no database read, so safe on the
    event loop. Otherwise None for one request, which checks the mark (``keep``, one small
    read); while it does, the others get the kept answer, so a burst of readers after a
    change costs one check, not one each. Call it from one thread (the event loop)."""
    hit = rt.caches.get(cache, {}).get(key)
    if hit is None:
        return None
    body: bytes = hit[1]
    if hit[2] == rt.hub.generation and time.monotonic() - hit[3] < rt.settings.rankings_recheck:
        return body
    checking: dict[tuple[Any, ...], float] = rt.caches.setdefault(f"{cache}.checking", {})
    now = time.monotonic()
    if now - checking.get(key, -CHECK_SECONDS) < CHECK_SECONDS:
        return body  # another request re-checks it now: no herd of checks
    checking[key] = now  # keep() clears it; a check that failed before it expires
    return None


def keep(rt: Runtime, cache: str, key: tuple[Any, ...], mark: tuple[Any, ...] | None,
         generation: int, answer: Callable[[], bytes]) -> bytes:
    """The kept answer when its state ``mark`` is unchanged, else ``answer()`` kept with the
    mark (not kept when ``mark`` is None). ``generation``: the hub's, read before the mark.
    At most ``answers_kept`` answers are kept per cache, the oldest dropped first."""
    kept: dict[tuple[Any, ...], tuple[Any, ...]] = rt.caches.setdefault(cache, {})
    hit = kept.get(key)
    try:
        if mark is not None and hit is not None and hit[0] == mark:
            body: bytes = hit[1]
        else:
            body = answer()
    finally:
        rt.caches.get(f"{cache}.checking", {}).pop(key, None)
    if mark is not None:
        while key not in kept and len(kept) >= rt.settings.answers_kept:
            kept.pop(next(iter(kept)))  # the oldest entry goes first
        kept[key] = (mark, body, generation, time.monotonic())
    return body
