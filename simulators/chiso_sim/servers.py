"""Simulated source systems as real HTTP services on 127.0.0.1, and push clients.

- ``pull_app``: a source system's API serving record versions with cursor paging
  (``GET /api/records?cursor=&limit=``); it can be told to fail (``POST /control``) or go down
  for a while, as real systems do.
- ``Pusher``: a source system in push mode, posting batches to chiso's push API and retrying
  every unacknowledged batch with back-off until chiso answers 2xx.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request
from pydantic import BaseModel


class Control(BaseModel):
    fail_next: int = 0  # answer the next N requests with ``status``
    down_seconds: float = 0  # answer everything with 503 for this long
    status: int = 500


@dataclass
class PullSource:
    """Records released over time: ``release_per_second`` more become visible each second
    (all at once when 0), like a system whose data grows while chiso pulls."""

    records: list[dict[str, Any]]
    release_per_second: float = 0.0
    started: float = field(default_factory=time.monotonic)
    fail_next: int = 0
    fail_status: int = 500
    down_until: float = 0.0
    requests: int = 0
    pulled: int = 0  # the furthest record any page has reached (the connector's progress)
    failing_since: float | None = None  # monotonic time of the first failed page of an outage
    events: list[str] = field(default_factory=list)  # outages and recoveries, as they happen
    require: tuple[str, str] | None = None  # a header (name, value) every request must carry

    def failed(self, reason: str) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            self.events.append(f"outage: the connector's pull got {reason}")

    def served(self) -> None:
        if self.failing_since is not None:
            gap = time.monotonic() - self.failing_since
            self.failing_since = None
            self.events.append(f"recovered: the connector pulls again after {gap:.0f} s")

    def available(self) -> int:
        if self.release_per_second <= 0:
            return len(self.records)
        n = int((time.monotonic() - self.started) * self.release_per_second)
        return min(len(self.records), n)


def pull_app(source: PullSource) -> FastAPI:
    app = FastAPI(title="Simulated source system (pull mode)")

    @app.get("/api/records")
    def records(request: Request, cursor: str = "0",
                limit: int = Query(500, ge=1, le=5000)) -> dict[str, Any]:
        source.requests += 1
        if source.require is not None and \
                request.headers.get(source.require[0]) != source.require[1]:
            raise HTTPException(401, "credentials required")
        if time.monotonic() < source.down_until:
            source.failed("503")
            raise HTTPException(503, "down for maintenance")
        if source.fail_next > 0:
            source.fail_next -= 1
            source.failed(str(source.fail_status))
            raise HTTPException(source.fail_status, "simulated failure")
        source.served()
        start = int(cursor or 0)
        end = min(start + limit, source.available())
        page = source.records[start:end]
        source.pulled = max(source.pulled, end)
        return {"records": page, "next_cursor": str(end), "has_more": end < source.available()}

    @app.post("/control")
    def control(c: Control) -> dict[str, Any]:
        source.fail_next, source.fail_status = c.fail_next, c.status
        if c.down_seconds:
            source.down_until = time.monotonic() + c.down_seconds
        return {"ok": True}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """Run an ASGI app with uvicorn in a thread on an ephemeral port of 127.0.0.1."""

    def __init__(self, app: FastAPI, port: int | None = None, lifespan: str = "off") -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Pusher:
    """A source system in push mode: posts each batch until chiso acknowledges it (2xx),
    retrying with capped exponential back-off; never drops a batch, never skips ahead."""

    base_url: str
    token: str
    feed: str
    ndjson: bool = False
    timeout: float = 10.0
    acked: list[list[dict[str, Any]]] = field(default_factory=list)
    keep_acked: bool = True  # a long-running pusher only counts what chiso acknowledged
    accepted: int = 0  # versions acknowledged
    acked_at: float = 0.0  # monotonic time of the last acknowledgement
    on_ack: Callable[[float], None] | None = None  # told the time of each acknowledgement
    attempts: int = 0
    failures: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def push(self, batch: list[dict[str, Any]]) -> dict[str, Any] | None:
        url = f"{self.base_url}/api/v1/feeds/{self.feed}/records"
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.ndjson:
            body = "\n".join(json.dumps(r, ensure_ascii=False) for r in batch).encode()
            headers["Content-Type"] = "application/x-ndjson"
        else:
            body = json.dumps(batch, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        delay = 0.05
        while not self.stop.is_set():
            self.attempts += 1
            try:
                r = httpx.post(url, content=body, headers=headers, timeout=self.timeout)
            except httpx.HTTPError:
                r = None
            if r is not None and r.status_code == 200:
                if self.keep_acked:
                    self.acked.append(batch)
                self.accepted += len(batch)
                self.acked_at = time.monotonic()
                if self.on_ack is not None:
                    self.on_ack(self.acked_at)
                result: dict[str, Any] = r.json()
                return result
            if r is not None and 400 <= r.status_code < 500 and r.status_code != 429:
                self.refused.append(r.json())
                return None  # a refused batch is the source's bug: retrying will not help
            self.failures += 1
            self.stop.wait(delay)
            delay = min(delay * 2, 1.0)
        return None

    def run(self, records: Iterable[dict[str, Any]], batch_size: int = 200,
            pause: float = 0.0) -> None:
        self.run_batches(batches(records, batch_size), pause)

    def run_batches(self, batches: Iterable[list[dict[str, Any]]], pause: float = 0.0) -> None:
        """Push each batch in turn (``pause`` seconds after each), until ``stop`` is set."""
        for batch in batches:
            if self.stop.is_set():
                return
            self.push(batch)
            if pause:
                self.stop.wait(pause)

    def start(self, records: Iterable[dict[str, Any]], batch_size: int = 200,
              pause: float = 0.0) -> threading.Thread:
        return self.start_batches(batches(records, batch_size), pause)

    def start_batches(self, batches: Iterable[list[dict[str, Any]]],
                      pause: float = 0.0) -> threading.Thread:
        thread = threading.Thread(target=self.run_batches, args=(batches, pause), daemon=True)
        thread.start()
        return thread


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[ServerThread]:
    with ServerThread(app) as server:
        yield server
