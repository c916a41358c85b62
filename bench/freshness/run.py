"""Freshness benchmark: from a push-API POST to the change-stream announcement of the changed
value, while records arrive steadily, on SQLite and PostgreSQL, same run.

    uv run python bench/freshness/run.py                       # 2,000 records/s for 5 s
    uv run python bench/freshness/run.py --rate 2000 --seconds 60

chiso's real app runs under uvicorn in this process (so the bench can subscribe to the
in-process change hub, the one ``GET /api/v1/stream`` serves); records go through the real
push API over HTTP with a source token. Each batch carries dossiers received on a day of its
own, so the stream event for ``tthc.dossiers_received`` on that day marks the batch's values
as visible. Printed: p50, p95, p99 and max of POST-start → stream event, beside the POST's own
round trip (the acknowledgement, measured in the same run) as the baseline. Bar: p99 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "simulators"))
sys.path.insert(0, str(ROOT / "bench"))

from _pg import fresh_pg  # noqa: E402
from chiso.config import Settings  # noqa: E402
from chiso.intake.sources import add_source  # noqa: E402
from chiso.runtime import create_app, open_runtime  # noqa: E402
from chiso_sim.servers import ServerThread  # noqa: E402

BASE = date(2027, 1, 1)


def batch(i: int, size: int) -> list[dict[str, Any]]:
    day = BASE + timedelta(days=i)
    return [{
        "id": f"F-{i}-{j}", "unit": "00070", "procedure": "1.001",
        "received_at": f"{day.isoformat()}T08:00:00+07:00",
        "due_at": f"{(day + timedelta(days=5)).isoformat()}T17:00:00+07:00",
        "resolved_at": None, "status": "processing", "channel": "online",
        "fully_online": True, "supplement_requests": 0, "supplement_days": 0,
        "result_electronic": None, "paid_online": None, "components_total": 2,
        "components_reused": 1, "updated_at": f"{day.isoformat()}T08:00:00+07:00",
    } for j in range(size)]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def run(label: str, url: str, rate: int, seconds: float, size: int) -> None:
    rt = open_runtime(Settings(database_url=url))
    engine = rt.engine
    token = add_source(engine, "bench", ["tthc.dossier"], None)
    app = create_app(rt.settings, rt)
    seen: dict[str, float] = {}
    ready, stop = threading.Event(), threading.Event()

    async def listen() -> None:
        sub = rt.hub.subscribe(bounded=False)
        ready.set()
        while not stop.is_set():
            try:
                item = await asyncio.wait_for(sub.queue.get(), 0.2)
            except TimeoutError:
                continue
            if item.get("indicator") == "tthc.dossiers_received":
                seen.setdefault(item["period"], time.perf_counter())
        rt.hub.unsubscribe(sub)

    listener = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
    listener.start()
    ready.wait()
    n_batches = max(1, int(rate * seconds / size))
    interval = size / rate
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}
    failed: list[str] = []
    local = threading.local()

    with ServerThread(app, lifespan="on") as server:
        def post(i: int) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(timeout=30)
            key = (BASE + timedelta(days=i)).isoformat()
            t = time.perf_counter()
            sent[key] = t
            r = client.post(f"{server.url}/api/v1/feeds/tthc.dossier/records",
                            json=batch(i, size), headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 200:
                acked[key] = time.perf_counter() - t
            else:
                failed.append(f"{r.status_code} {r.text[:120]}")

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            futures = []
            for i in range(n_batches):
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(post, i))
            for f in futures:
                f.result()
        elapsed = time.perf_counter() - start
        deadline = time.perf_counter() + 5
        while len(seen) < n_batches and time.perf_counter() < deadline:
            time.sleep(0.01)
    stop.set()
    listener.join()
    lat = [seen[k] - sent[k] for k in acked if k in seen]
    ack = list(acked.values())
    print(f"{label}: {n_batches * size:,} records in {n_batches} batches of {size} over "
          f"{elapsed:.1f} s ({n_batches * size / elapsed:,.0f} records/s offered); "
          f"{len(lat)}/{n_batches} announced")
    if failed:
        print(f"  {len(failed)} POSTs failed (not acknowledged), first: {failed[0]}")
    for name, xs in (("POST acknowledged (baseline)", ack), ("POST → stream event", lat)):
        if xs:
            print(f"  {name:29}: p50 {pct(xs, 50) * 1000:7.1f} ms  p95 {pct(xs, 95) * 1000:7.1f}"
                  f" ms  p99 {pct(xs, 99) * 1000:7.1f} ms  max {max(xs) * 1000:7.1f} ms")
    if lat:
        print(f"  bar p99 <= 1000 ms: {'met' if pct(lat, 99) <= 1 else 'NOT met'}", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=int, default=2000, help="records per second offered")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=100, help="records per POST")
    parser.add_argument("--pg-url", default=os.environ.get(
        "CHISO_TEST_PG_URL", "postgresql+psycopg://chiso:chiso@127.0.0.1:5432/chiso_test"))
    args = parser.parse_args()
    os.environ.setdefault("CHISO_PSEUDONYM_KEY", "bench")
    print(f"chiso freshness bench: {os.cpu_count()} cores, {args.rate:,} records/s for "
          f"{args.seconds:g} s, batches of {args.size}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/fresh.db", args.rate, args.seconds, args.size)
    run("PostgreSQL", fresh_pg(args.pg_url, "chiso_bench_fresh"), args.rate, args.seconds,
        args.size)


if __name__ == "__main__":
    main()
