"""Server-sent events from the change stream: one way to serve the hub to a browser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import StreamingResponse

from chiso.context import Hub, StreamFullError

# Turns one hub item into the events to send (none, one or several ``event: …\ndata: …``).
Render = Callable[[dict[str, Any]], list[str]]


def hub_stream(hub: Hub, render: Render, *, greeting: str, limit: int | None = None,
               keepalive: float = 15.0) -> StreamingResponse:
    """Subscribe to ``hub`` (the runtime's) and send what ``render`` makes of each item,
    until ``limit`` events have gone (never, by default) or the client leaves. A comment line every
    ``keepalive`` seconds keeps proxies from closing the connection; a subscriber that fell
    behind is told with ``event: overflow``."""
    try:
        sub = hub.subscribe()
    except StreamFullError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "60"}) from exc

    async def events() -> AsyncIterator[str]:
        sent = 0
        try:
            yield f": {greeting}\n\n"
            while limit is None or sent < limit:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), keepalive)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                for event in render(item):
                    yield event
                    sent += 1
                if sub.overflowed:
                    sub.overflowed = False
                    yield "event: overflow\ndata: {}\n\n"
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
