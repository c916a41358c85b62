"""A simulated receiving system (the Ministry's EMC, or a webhook subscriber) as a real HTTP
service: it checks chiso's signature, applies each message once by its idempotency key, and
can be told to misbehave as real systems do.

- ``POST /{any path}``: a message. 401 when the signature or timestamp is wrong; otherwise,
  unless a fault answers first, the message is applied (once per ``Idempotency-Key``; a repeat
  is acknowledged with ``{"duplicate": true}`` and changes nothing) and acknowledged 200.
- ``POST /control``: faults (:class:`Faults`): answer 5xx at random or for the next N
  requests, go down (503) for a while, answer slowly (after applying, so a client that times
  out sends again), apply but lose the acknowledgement (answer 500), acknowledge twice.
- ``GET /state``: what arrived and what was applied.

Run alone: ``python -m chiso_sim.receiver --port 8765 --secret KEY``. It never imports chiso:
the signature is checked from the documented contract (docs/outbox.md).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Faults(BaseModel):
    fail_rate: float = 0.0  # share of requests answered 500 at random
    fail_next: int = 0  # answer the next N requests 500
    down_seconds: float = 0.0  # answer everything 503 for this long, from now
    delay_seconds: float = 0.0  # answer this late (after applying)
    lose_ack_next: int = 0  # apply the next N new messages, then answer 500
    seed: int | None = None


@dataclass
class Receiver:
    """The receiving system's state; thread-safe."""

    secret: str
    tolerance: float = 300.0
    faults: Faults = field(default_factory=Faults)
    down_until: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → body
    order: list[str] = field(default_factory=list)  # keys in the order applied
    requests: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def signed(self, timestamp: str, signature: str, body: bytes) -> bool:
        try:
            stamp = int(timestamp)
        except ValueError:
            return False
        if abs(time.time() - stamp) > self.tolerance:
            return False
        mac = hmac.new(self.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest("sha256=" + mac.hexdigest(), signature)

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.requests, "applied": len(self.applied),
                    "duplicates": self.duplicates, "rejected": self.rejected,
                    "failed": self.failed, "order": list(self.order)}


def receiver_app(rx: Receiver) -> FastAPI:
    app = FastAPI(title="Simulated receiving system (EMC, webhook subscriber)")

    @app.post("/control")
    def control(faults: Faults) -> dict[str, Any]:
        with rx.lock:
            rx.faults = faults
            rx.down_until = time.monotonic() + faults.down_seconds
            if faults.seed is not None:
                rx.rng.seed(faults.seed)
        return {"ok": True}

    @app.get("/state")
    def state() -> dict[str, Any]:
        return rx.state()

    @app.post("/{path:path}")
    async def receive(path: str, request: Request) -> JSONResponse:
        body = await request.body()
        h = request.headers
        answer, delay = _receive(rx, body, h.get("X-Chiso-Timestamp", ""),
                                 h.get("X-Chiso-Signature", ""), h.get("Idempotency-Key", ""))
        if delay:
            await _sleep(delay)
        return answer

    return app


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _receive(rx: Receiver, body: bytes, timestamp: str, signature: str, key: str
             ) -> tuple[JSONResponse, float]:
    with rx.lock:
        rx.requests += 1
        f = rx.faults
        if not rx.signed(timestamp, signature, body) or not key:
            rx.rejected += 1
            return JSONResponse({"error": "bad signature, timestamp or key"}, 401), 0.0
        if time.monotonic() < rx.down_until:
            rx.failed += 1
            return JSONResponse({"error": "down for maintenance"}, 503), 0.0
        if f.fail_next > 0 or (f.fail_rate and rx.rng.random() < f.fail_rate):
            f.fail_next = max(0, f.fail_next - 1)
            rx.failed += 1
            return JSONResponse({"error": "simulated failure"}, 500), 0.0
        if key in rx.applied:
            rx.duplicates += 1
            return JSONResponse({"ok": True, "duplicate": True}), f.delay_seconds
        rx.applied[key] = json.loads(body)
        rx.order.append(key)
        if f.lose_ack_next > 0:
            f.lose_ack_next -= 1
            return JSONResponse({"error": "applied, but the answer was lost"}, 500), 0.0
        return JSONResponse({"ok": True, "duplicate": False}), f.delay_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    uvicorn.run(receiver_app(Receiver(args.secret)), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
