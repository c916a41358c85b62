"""Freshness benchmark (SPEC §4): from a push-API POST to the changed value on the change stream
of a *different* server process, while records arrive steadily from separate client processes.

    uv run python bench/freshness/run.py                         # 2,000 records/s for 10 s
    uv run python bench/freshness/run.py --rate 2000 --seconds 60 --skip-sqlite

chiso runs as production runs it: ``chiso serve`` processes of their own (``bench/_server.py``).
On PostgreSQL two servers share the database: the records go to server A and the bench listens
on server B's ``GET /api/v1/stream`` (server-sent events), so each sample crosses processes
through the shared change stream. SQLite serves one process: POST and stream on the same one.

The load comes from ``--clients`` loader processes (multiprocessing), each POSTing its share of
the batches at fixed times (a steady schedule, ``--rate`` records/s in batches of ``--size``)
with a source token. Each batch carries dossiers received on a day of its own, so the stream
event for ``tthc.dossiers_received`` on that day marks the batch's values as visible. Times are
the system-wide monotonic clock, the same in every process.

Printed: the rate offered and the rate achieved (the loaders' schedule kept), p50, p95, p99 and
max of POST start → stream event, beside the POST's own round trip (the acknowledgement, the
same run) as the baseline; the servers' resident memory at the end, and their CPU per batch
beside what they use idle (a cost that a loaded machine does not inflate as it does latencies).
Exit status 1 when samples are lost (a POST not acknowledged, or acknowledged and never
announced), when the loaders fell short of the rate, or when the bar (p99 ≤ 1 s) is not met: a
bench that lost its samples says so and fails, it never judges the bar on what is left.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from _common import prepare  # noqa: E402
from _pg import fresh_pg  # noqa: E402
from _server import Server, serve  # noqa: E402

BASE = date(2027, 1, 1)
INDICATOR = "tthc.dossiers_received"
BAR_P99 = 1.0
RATE_KEPT = 0.95  # the loaders must offer at least this share of --rate


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


# -- the loaders (separate processes) ----------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    url: str
    token: str
    size: int
    interval: float  # seconds between batches, all loaders together
    batches: int
    start: float  # monotonic time of batch 0
    threads: int  # concurrent POSTs per loader


def load(plan: Plan, me: int, loaders: int, out: Any) -> None:
    """POST batches ``me, me + loaders, …`` at their scheduled times; put one
    ``(batch, sent, acknowledged or None, error)`` per batch on ``out``."""
    headers = {"Authorization": f"Bearer {plan.token}"}
    local = threading.local()

    mine = range(me, plan.batches, loaders)
    bodies = {i: json.dumps(batch(i, plan.size)).encode() for i in mine}  # before the clock

    def post(i: int) -> tuple[int, float, float | None, str]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30)
        body = bodies.pop(i)
        t = time.monotonic()
        try:
            r = client.post(f"{plan.url}/api/v1/feeds/tthc.dossier/records", content=body,
                            headers={**headers, "Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            return i, t, None, f"{type(exc).__name__}: {exc}"
        if r.status_code == 200:
            return i, t, time.monotonic(), ""
        return i, t, None, f"{r.status_code} {r.text[:120]}"

    # Enough threads that a slow answer never delays the next POST: the load stays open-loop.
    with ThreadPoolExecutor(plan.threads) as pool:
        futures = []
        for i in mine:
            delay = plan.start + i * plan.interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(post, i))
        for f in futures:
            out.put(f.result())


# -- the listener (on the other server's stream) ----------------------------------------------
@dataclass
class Listener:
    url: str
    seen: dict[str, float] = field(default_factory=dict)
    other: int = 0  # events of other indicators and kinds, read and left
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str = ""

    def run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=None)) as client, client.stream(
                    "GET", f"{self.url}/api/v1/stream", params={"keepalive": 1},
                    headers={"Accept": "text/event-stream"}) as r:
                r.raise_for_status()
                self.ready.set()
                event = ""
                for line in r.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "value":
                        item = json.loads(line[5:])
                        if item.get("indicator") == INDICATOR and "period" in item:
                            self.seen.setdefault(item["period"], time.monotonic())
                        else:
                            self.other += 1
        except Exception as exc:  # reported: every sample after it is lost
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()


def _group(server: Server) -> list[int]:
    """The processes of the server's process group (the granian main and its workers)."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.getpgid(int(pid)) == server.process.pid:
                    out.append(int(pid))
            except (OSError, ProcessLookupError):
                continue
    return out


def rss_mib(server: Server) -> tuple[float, float]:
    """Resident memory of the server's process group, and of its largest process."""
    sizes = [0]
    for pid in _group(server):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        sizes += [int(line.split()[1]) for line in status.splitlines()
                  if line.startswith("VmRSS:")]
    return sum(sizes) / 1024, max(sizes) / 1024


def cpu_seconds(server: Server) -> float:
    """CPU time (user + system) the server's process group has used so far: the cost of the
    work, which a loaded machine does not inflate as it does latencies."""
    ticks = 0
    for pid in _group(server):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


SETTLED = 0.15  # cores: a server using less than this is idle (start-up passes done)


def settle(servers: list[Server], window: float = 3.0,
           limit: float = 240.0) -> tuple[float, list[float]]:
    """Wait until every server is idle (the single-run work's first passes and the boards'
    first refresh done: the load meets servers in their steady state, as it would a few
    minutes after a deployment); returns (seconds waited, each server's idle CPU in cores:
    the baseline)."""
    start = time.monotonic()
    while True:
        before = [cpu_seconds(s) for s in servers]
        time.sleep(window)
        rates = [(cpu_seconds(s) - c) / window for s, c in zip(servers, before, strict=True)]
        if max(rates) < SETTLED or time.monotonic() - start > limit:
            return time.monotonic() - start, rates


def run(label: str, url: str, args: argparse.Namespace, logs: Path) -> bool:
    """One backend; True when every sample came back and the bar is met."""
    from chiso.intake.sources import add_source
    from chiso.store.db import make_engine

    prepare(url)
    engine = make_engine(url)
    token = add_source(engine, "bench", ["tthc.dossier"], None)
    engine.dispose()
    two = url.startswith("postgresql")
    env = {"CHISO_PSEUDONYM_KEY": "bench"}
    workers = args.workers if two else 1
    with serve(url, logs, name=f"{label}-a", env=env, workers=workers) as a:
        if two:
            with serve(url, logs, name=f"{label}-b", env=env, workers=workers) as b:
                return measure(label, a, b, token, args)
        return measure(label, a, a, token, args)


def measure(label: str, a: Server, b: Server, token: str, args: argparse.Namespace) -> bool:
    listener = Listener(b.url)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    listener.ready.wait(30)
    servers = list({a.url: a, b.url: b}.values())
    settled, idle = settle(servers, limit=args.settle)
    print(f"  servers settled {settled:.0f} s after answering (their start-up passes: board, "
          "open-data change log, alerts, report schedule)", flush=True)
    cpu0 = [cpu_seconds(s) for s in servers]
    t0 = time.monotonic()
    n = max(1, int(args.rate * args.seconds / args.size))
    # The loaders start (and build their bodies) before batch 0 is due.
    plan = Plan(a.url, token, args.size, args.size / args.rate, n, time.monotonic() + 5.0,
                args.threads)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    loaders = [ctx.Process(target=load, args=(plan, k, args.clients, out))
               for k in range(args.clients)]
    for p in loaders:
        p.start()
    results = [out.get() for _ in range(n)]
    for p in loaders:
        p.join()
    deadline = time.monotonic() + 5
    while len(listener.seen) < n and time.monotonic() < deadline and not listener.error:
        time.sleep(0.05)
    rss = {s.url: rss_mib(s) for s in servers}
    used = [cpu_seconds(s) - c for s, c in zip(servers, cpu0, strict=True)]
    span = time.monotonic() - t0
    listener.stop.set()

    sent = {(BASE + timedelta(days=i)).isoformat(): (t, ack) for i, t, ack, _ in results}
    failed = [err for _, _, ack, err in results if ack is None]
    first = min(t for t, _ in sent.values())
    last = max(t for t, _ in sent.values())
    achieved = (n - 1) * args.size / (last - first) if n > 1 and last > first else 0.0
    acks = [ack for _, ack in sent.values() if ack is not None]
    accepted = len(acks) * args.size / (max(acks) - first) if acks else 0.0
    acked = {k: (t, ack) for k, (t, ack) in sent.items() if ack is not None}
    lat = [listener.seen[k] - t for k, (t, _) in acked.items() if k in listener.seen]
    ack_lat = [ack - t for t, ack in acked.values() if ack is not None]
    lost = len(acked) - len(lat)
    if args.samples:  # each batch's times from the first POST: where the tail sits in the run
        with open(args.samples, "w") as fh:
            fh.write("batch_day,sent_s,acknowledged_ms,announced_ms\n")
            for k, (t, ack) in sorted(sent.items(), key=lambda kv: kv[1][0]):
                seen = listener.seen.get(k)
                fh.write(f"{k},{t - first:.3f},"
                         f"{'' if ack is None else f'{(ack - t) * 1000:.1f}'},"
                         f"{'' if seen is None else f'{(seen - t) * 1000:.1f}'}\n")
    where = "another server process" if a is not b else "the same (only) server process"
    print(f"{label}: {n * args.size:,} records in {n} batches of {args.size} from "
          f"{args.clients} loader processes; offered {args.rate:,} records/s, achieved "
          f"{achieved:,.0f} records/s; accepted {accepted:,.0f} records/s (acknowledged, first "
          f"POST to last answer); {args.workers if a is not b else 1} process(es) per server; "
          f"stream read on {where}")
    print(f"  acknowledged {len(acked)}/{n}; announced {len(lat)}/{len(acked)} acknowledged; "
          f"{listener.other} other events read")
    for name, xs in (("POST acknowledged (baseline)", ack_lat), ("POST → stream event", lat)):
        if xs:
            print(f"  {name:29}: p50 {pct(xs, 50) * 1000:7.1f} ms  p95 {pct(xs, 95) * 1000:7.1f}"
                  f" ms  p99 {pct(xs, 99) * 1000:7.1f} ms  max {max(xs) * 1000:7.1f} ms")
    print("  resident memory (each server's processes; its largest process): " + ", ".join(
        f"{total:,.0f} MiB ({largest:,.0f} MiB)" for total, largest in rss.values()))
    names = ["receiving (A)", "streaming (B)"] if len(servers) == 2 else ["the server"]
    for name, u, i in zip(names, used, idle, strict=True):
        print(f"  CPU of {name}: {u / n * 1000:6.1f} ms per batch of {args.size} "
              f"({u:.1f} s over {span:.0f} s); idle before the load (baseline): "
              f"{i * 1000:.0f} ms per second")
    ok = True
    if failed:
        print(f"  FAILED: {len(failed)} POSTs not acknowledged, first: {failed[0]}")
        errors = [line for line in a.log.read_text(errors="replace").splitlines()
                  if "Error" in line or "error" in line]
        for line in errors[-8:]:  # why, from the receiving server's log
            print(f"    {line[:300]}")
        ok = False
    if listener.error:
        print(f"  FAILED: the stream broke: {listener.error}")
        ok = False
    if lost:
        print(f"  FAILED: {lost} acknowledged batches never announced within 5 s: the samples "
              "are incomplete, the bar is not judged")
        ok = False
    if achieved < RATE_KEPT * args.rate:
        print(f"  FAILED: the loaders offered {achieved:,.0f} records/s, short of "
              f"{args.rate:,}: the load is not the bar's")
        ok = False
    if ok:
        met = pct(lat, 99) <= BAR_P99
        print(f"  bar p99 <= {BAR_P99 * 1000:.0f} ms: {'met' if met else 'NOT met'}", flush=True)
        ok = met
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=int, default=2000, help="records per second offered")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=100, help="records per POST")
    parser.add_argument("--clients", type=int, default=2, help="loader processes")
    parser.add_argument("--threads", type=int, default=32,
                        help="concurrent POSTs per loader process")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes per server (chiso serve --workers, as production runs "
                        "it; PostgreSQL only, SQLite serves one)")
    parser.add_argument("--settle", type=float, default=240.0,
                        help="seconds at most to wait for the servers to go idle first")
    parser.add_argument("--db", default="chiso_bench_fresh",
                        help="PostgreSQL database to (re)create for the run")
    parser.add_argument("--samples", type=Path, default=None,
                        help="write each batch's times (CSV) to this file")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get(
        "CHISO_TEST_PG_URL", "postgresql+psycopg://chiso:chiso@127.0.0.1:5432/chiso_test"))
    args = parser.parse_args()
    # A bench stopped from outside (timeout, kill) still stops the servers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"chiso freshness bench: {os.cpu_count()} cores, {args.rate:,} records/s for "
          f"{args.seconds:g} s, batches of {args.size}, {args.clients} loader processes",
          flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            ok &= run("SQLite", f"sqlite:///{tmp}/fresh.db", args, Path(tmp))
        if not args.skip_postgresql:
            ok &= run("PostgreSQL", fresh_pg(args.pg_url, args.db), args,
                      Path(tmp))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
