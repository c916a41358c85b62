"""The change stream serves a bounded number of subscribers with bounded queues; one more is
told to come back later (503 with Retry-After), never queued without limit."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from chiso.context import QUEUE_ITEMS, Hub, Runtime, StreamFullError


def test_the_hub_refuses_past_its_limit_and_frees_places() -> None:
    async def run() -> None:
        hub = Hub(max_subscribers=2)
        first, _second = hub.subscribe(), hub.subscribe()
        with pytest.raises(StreamFullError, match="2 clients"):
            hub.subscribe()
        own = hub.subscribe(bounded=False)  # chiso's own followers are never refused
        hub.unsubscribe(first)
        hub.unsubscribe(own)
        hub.subscribe()  # a place freed
        assert first.queue.maxsize == QUEUE_ITEMS

    # A loop of its own, in a thread: the test may run where another loop is running already
    # (Playwright's sync API keeps one in the main thread).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_chisos_own_followers_miss_no_announcement_of_a_big_batch() -> None:
    """One batch may announce more values than a client's queue holds: a client is told it
    overflowed, while the board and the score follower get every one."""
    async def run() -> None:
        hub = Hub()
        client, own = hub.subscribe(), hub.subscribe(bounded=False)
        items = [{"indicator": f"i{n % 7}", "unit": "00070", "period": f"{n}"}
                 for n in range(QUEUE_ITEMS * 3)]
        hub.publish(items[:10])
        hub.publish(items[10:])
        await asyncio.sleep(0)  # the loop runs the puts
        assert client.overflowed
        assert client.queue.qsize() == QUEUE_ITEMS
        assert not own.overflowed
        assert own.queue.qsize() == len(items)

    # A loop of its own, in a thread: the test may run where another loop is running already
    # (Playwright's sync API keeps one in the main thread).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_a_full_stream_answers_503(client: TestClient, runtime: Runtime,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.hub, "max_subscribers", 0)
    r = client.get("/api/v1/stream?limit=1", headers={"Accept": "text/event-stream"})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "60"
    assert "retry" in r.json()["detail"]
