"""API benchmark (SPEC §4): the dashboard and ranking endpoints under 100 concurrent clients on
the full Hanoi dataset, with the server's resident memory, beside ``/api/v1/health`` under the
same load (the floor of the stack) measured in the same run.

    uv run python -m bench.api                          # SQLite, dossier scale 0.1, 20 s a set
    uv run python -m bench.api --scale 1 --backend postgresql --duration 30

The dataset comes from ``bench/_dataset.py`` (built once, then cached under var/bench/). chiso
runs as production runs it, ``chiso serve --workers N`` (``--workers``, 1 by default) on
loopback with the default settings; on PostgreSQL that is N serving processes and a work
process (the score follower, reports due, alerts, open data: idle once caught up, as nothing
is written during the run). It is warmed (every endpoint requested a few times, one at a time:
the unloaded latency printed), the work process's catch-up after the start is waited out
(``--settle``; its duration and CPU printed), then ``wrk`` (a second process, apt-get install
-y wrk) drives it with ``--connections`` (100) open connections, each sending its next
request as soon as the previous one is answered, for ``--duration`` seconds per set, with
``bench/api/rotate.lua``:

1. ``/api/v1/health`` alone (the baseline: what the stack itself allows);
2. each endpoint alone: ``/api/v1/dashboard``, ``/api/v1/rankings/{method}?kind=commune`` and
   ``?kind=department`` for each method in src/chiso/data/methods/, ``/api/v1/map`` and
   ``/api/v1/indicators/tthc.on_time_rate/values``;
3. all of them together, each connection rotating over them (the overall figure).

For each set: requests/s, p50, p95, p99, max, errors (non-2xx answers, time-outs, socket
errors) and the serving processes' CPU time per request (its cost, which a shared machine
inflates far less than its latencies), each beside health's, and the work process's CPU per
second when it used any. With ``--think`` above 0, health and the
rotation are measured again closed-loop (no think time) and printed beside each other. The
server's resident memory (VmRSS of the process and its children, sampled every
0.2 s, and the kernel's high-water mark VmHWM) is printed at its peak, with its largest
process's. One-line verdict against the bars: p95 ≤ 50 ms for the dashboard, each ranking, the
map and indicator values, resident memory < 1 GiB a process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from bench import _dataset

HERE = Path(__file__).resolve().parent
LUA = HERE / "rotate.lua"
METHODS = _dataset.ROOT / "src" / "chiso" / "data" / "methods"
BAR_P95_MS = 50.0
BAR_RSS = 1 << 30  # 1 GiB
HEALTH = "/api/v1/health"
DASHBOARD = "/api/v1/dashboard"
CONNECTIONS = [100]  # set from --connections
PROBE = "/api/v1/indicators/tthc.on_time_rate/values"  # a small database read
MAP = "/api/v1/map"
INSTALL = ("wrk is not installed: it drives the load from a second process. Install it with\n"
           "    apt-get install -y wrk\n"
           "(Debian's package; or put a wrk binary on PATH) and run again.")


def methods() -> list[str]:
    out = []
    for path in sorted(METHODS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        code = (data.get("method") or {}).get("code") if isinstance(data, dict) else None
        out.append(str(code or path.stem))
    return out


def endpoints() -> list[str]:
    """The measured endpoints (the dashboard first); the bar applies to every one."""
    out = [DASHBOARD]
    for m in methods():
        out += [f"/api/v1/rankings/{m}?kind=commune", f"/api/v1/rankings/{m}?kind=department"]
    return [*out, MAP, PROBE]


def barred(path: str) -> bool:
    """SPEC §4: the dashboard, each ranking, the map and indicator values."""
    return path in (DASHBOARD, MAP, PROBE) or path.startswith("/api/v1/rankings/")


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    p50: float  # ms
    p95: float
    p99: float
    max: float
    errors: int
    error_note: str
    drain_s: float = 0.0  # after the set, until the server answered promptly again
    cpu_ms: float = 0.0  # the serving processes' CPU time per answered request (user + system)
    work_ms_s: float = 0.0  # the work process's CPU time per second of the set

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class MemorySampler:
    """The server's resident memory (its process and children), every 0.2 s, while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pids(self) -> list[int]:
        pids = [self.pid]
        try:
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                children = (task / "children").read_text().split()
                pids += [int(c) for c in children]
        except OSError:
            pass
        return pids

    def rss(self) -> int:
        return sum(_dataset.rss_of(p)[0] for p in self._pids())

    def largest(self) -> int:
        """The high-water mark of the server's largest process (the bar is per process)."""
        return max((_dataset.rss_of(p)[1] for p in self._pids()), default=0)

    def hwm(self) -> int:
        return sum(_dataset.rss_of(p)[1] for p in self._pids())

    def cpu(self, *, work: bool = False) -> float:
        """CPU seconds (user + system) the server's serving processes (``work``: its work
        process, ``chiso work``) have used so far."""
        ticks = 0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                is_work = b"work" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if is_work == work:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def settle(self, limit: float, window: float = 5.0, idle: float = 0.1) -> float:
        """Wait (at most ``limit`` seconds) until the work process uses less than ``idle`` of a
        core over ``window`` seconds: its catch-up after a start (reports due, alerts, the
        open-data change log) is done. Returns the seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            before = self.cpu(work=True)
            time.sleep(window)
            if (self.cpu(work=True) - before) / window < idle:
                break
        return time.monotonic() - t0

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            now = self.rss()
            self.samples.append(now)
            self.peak = max(self.peak, now)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wrk(base: str, label: str, paths: list[str], args: argparse.Namespace,
        mem: MemorySampler, think: int | None = None) -> Result:
    """One set; ``think`` (ms) overrides ``--think`` (0: closed loop). The server's CPU time
    over the set, per answered request, is the work's cost: latencies on a shared machine
    grow with the load of others, CPU per request hardly does."""
    think = args.think if think is None else think
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           f"--timeout={args.timeout}s", "-s", str(LUA), base, "--", *paths,
           *([f"think={think}"] if think else [])]
    cpu0, work0 = mem.cpu(), mem.cpu(work=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    cpu, work = mem.cpu() - cpu0, mem.cpu(work=True) - work0
    line = next((s for s in reversed(done.stdout.splitlines()) if s.startswith("{")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    d = json.loads(line)
    sock = d["connect"] + d["read"] + d["write"]
    errors = d["non2xx"] + d["timeout"] + sock
    notes = [f"{n} {k}" for k, n in (("non-2xx", d["non2xx"]), ("timeouts", d["timeout"]),
                                      ("socket errors", sock)) if n]
    result = Result(label, d["requests"], d["duration_us"] / 1e6, d["p50"] / 1000,
                    d["p95"] / 1000, d["p99"] / 1000, d["max"] / 1000, errors, ", ".join(notes),
                    cpu_ms=cpu * 1000 / d["requests"] if d["requests"] else 0.0,
                    work_ms_s=work * 1000 / (d["duration_us"] / 1e6))
    result.drain_s = drain(base, PROBE)
    return result


def drain(base: str, probe: str, limit_s: float = 180.0) -> float:
    """Wait until the server answers ``probe`` (a database read) promptly again: requests
    queued inside the server outlive the wrk connections that sent them. Returns seconds."""
    t0 = time.perf_counter()
    with httpx.Client(base_url=base, timeout=limit_s) as client:
        while time.perf_counter() - t0 < limit_s:
            t = time.perf_counter()
            try:
                ok = client.get(probe).status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok and time.perf_counter() - t < 0.5:
                break
            time.sleep(0.2)
    return time.perf_counter() - t0


def row(r: Result, floor: Result | None) -> str:
    if not r.requests:
        return (f"  {r.label:<46} no request answered in {r.seconds:.0f} s"
                + (f" ({r.error_note})" if r.error_note else "")
                + (f"; busy {r.drain_s:.0f} s after the set" if r.drain_s > 1 else ""))
    ratio = (f"  p95 {r.p95 / floor.p95:5.1f}x health's {floor.p95:.1f} ms"
             if floor and floor.p95 else "")
    if floor and floor.cpu_ms:
        ratio += f"; CPU {r.cpu_ms:.2f} ms/request, {r.cpu_ms / floor.cpu_ms:.1f}x health's"
    elif floor is None:
        ratio = f"  CPU {r.cpu_ms:.2f} ms/request"
    err = f"  errors {r.errors:,}" + (f" ({r.error_note})" if r.error_note else "")
    if r.drain_s > 1:
        err += f"; busy {r.drain_s:.0f} s after the set"
    if r.work_ms_s >= 1:
        err += f"; work process {r.work_ms_s:,.0f} ms CPU/s"
    if r.requests < CONNECTIONS[0]:
        err += (f"; only {r.requests} answers for {CONNECTIONS[0]} clients: most waited the whole"
                " set, the percentiles cover the answered ones only (understated)")
    return (f"  {r.label:<46} {r.rps:8,.0f} req/s  p50 {r.p50:7.1f}  p95 {r.p95:7.1f}  "
            f"p99 {r.p99:7.1f}  max {r.max:7.1f} ms{err}{ratio}")


def warm(base: str, paths: list[str], rounds: int) -> dict[str, tuple[int, float, int]]:
    """Each path ``rounds`` times, one request at a time: (status, median ms, body bytes)."""
    out = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for path in paths:
            times, status, size = [], 0, 0
            for _ in range(rounds):
                t = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                status, size = r.status_code, len(r.content)
            out[path] = (status, statistics.median(times), size)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api",
        description="Dashboard and ranking endpoints at 100 concurrent clients (wrk) on the full "
        "Hanoi dataset, beside /api/v1/health; with the server's resident memory.")
    _dataset.add_arguments(parser)
    parser.add_argument("--duration", type=int, default=20, help="seconds per set (default 20)")
    parser.add_argument("--connections", type=int, default=100, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--timeout", type=int, default=10, help="wrk's request time-out, s")
    parser.add_argument("--think", type=int, default=0,
                        help="ms each client waits after an answer before its next request "
                        "(default 0: at once, the hardest reading of '100 concurrent clients')")
    parser.add_argument("--warm", type=int, default=5, help="warm-up requests per endpoint")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes (above 1: chiso serve --workers N, PostgreSQL)")
    parser.add_argument("--settle", type=float, default=900.0,
                        help="seconds to wait at most for the work process's catch-up after "
                        "the start (reports due, alerts, open data) before measuring; 0: "
                        "measure at once (default 900)")
    parser.add_argument("--no-each", action="store_true",
                        help="skip the per-endpoint sets (health and the rotation only)")
    parser.add_argument("--scores-follow", choices=["on", "off"], default="on",
                        help="the server's CHISO_SCORES_FOLLOW (default on, as in production;"
                        " idle during a read benchmark)")
    args = parser.parse_args(argv)
    CONNECTIONS[0] = args.connections
    if shutil.which("wrk") is None:
        print(INSTALL, file=sys.stderr)
        return 2

    ds = _dataset.from_args(args)
    print(f"chiso API bench: {os.cpu_count()} cores, {args.connections} concurrent clients "
          f"(wrk -t{args.threads}, think time {args.think} ms), {args.duration} s per set, "
          + f"chiso serve --workers {args.workers}, "
          + f"CHISO_SCORES_FOLLOW={'1' if args.scores_follow == 'on' else '0'}", flush=True)
    print(ds.describe(), flush=True)
    log = _dataset.CACHE / "bench-api-server.log"
    with _dataset.serve(ds.url, follow=args.scores_follow == "on", log=log,
                        workers=args.workers) as server:
        paths = endpoints()
        t = time.perf_counter()
        warmed = warm(server.url, [HEALTH, *paths], args.warm)
        print(f"warm-up ({args.warm} requests each, one at a time, {time.perf_counter() - t:.1f}"
              " s): status, median unloaded latency, body size", flush=True)
        for path, (status, ms, size) in warmed.items():
            print(f"  {path:<46} {status}  {ms:7.1f} ms  {size / 1024:7.1f} KiB")
        missing = [p for p in paths if warmed[p][0] == 404]
        broken = [p for p in paths if warmed[p][0] not in (200, 404)]
        if DASHBOARD in missing:
            print(f"NOTE: {DASHBOARD} answers 404: the dashboard endpoint is missing; "
                  "benching the endpoints that exist", flush=True)
        for p in [*missing, *broken]:
            if p != DASHBOARD:
                print(f"NOTE: {p} answers {warmed[p][0]}: left out", flush=True)
        live = [p for p in paths if p not in missing and p not in broken]
        if warmed[HEALTH][0] != 200:
            raise SystemExit(f"{HEALTH} answers {warmed[HEALTH][0]}")

        results: list[Result] = []
        with MemorySampler(server.pid) as mem:
            if args.settle:
                work0 = mem.cpu(work=True)
                waited = mem.settle(args.settle)
                print(f"background work settled after {waited:.0f} s (the work process's "
                      f"catch-up after a start: {mem.cpu(work=True) - work0:.1f} s of CPU)",
                      flush=True)
            idle = mem.rss()
            print(f"server pid {server.pid}: resident {idle / 2**20:,.0f} MiB after warm-up; "
                  f"load sets ({args.duration} s each):", flush=True)
            floor = wrk(server.url, f"{HEALTH} (baseline)", [HEALTH], args, mem)
            print(row(floor, None), flush=True)
            if not args.no_each:
                for p in live:
                    results.append(wrk(server.url, p, [p], args, mem))
                    print(row(results[-1], floor), flush=True)
            overall = wrk(server.url, f"all {len(live)} endpoints, rotating", live, args, mem)
            print(row(overall, floor), flush=True)
            if args.think:
                print("closed loop (no think time: each client sends its next request at once):",
                      flush=True)
                closed_floor = wrk(server.url, f"{HEALTH} (baseline), closed loop", [HEALTH],
                                   args, mem, think=0)
                print(row(closed_floor, None), flush=True)
                closed = wrk(server.url, f"all {len(live)} endpoints, closed loop", live, args,
                             mem, think=0)
                print(row(closed, closed_floor), flush=True)
        hwm = mem.hwm()
        largest = mem.largest()

    print(f"server resident memory (its processes together): {idle / 2**20:,.0f} MiB after "
          f"warm-up, peak {mem.peak / 2**20:,.0f} MiB sampled under load, high-water marks "
          f"(VmHWM) {hwm / 2**20:,.0f} MiB; its largest process {largest / 2**20:,.0f} MiB; "
          "bar < 1,024 MiB a process", flush=True)
    judged = [r for r in results if barred(r.label)] if results else []
    worst = max(judged, key=lambda r: r.p95) if judged else None
    p95_ok = (worst is None or worst.p95 <= BAR_P95_MS) and overall.p95 <= BAR_P95_MS
    errors = sum(r.errors for r in [floor, overall, *results])
    parts = [f"overall p95 {overall.p95:.1f} ms"]
    if worst is not None:
        parts.append(f"slowest barred endpoint {worst.label} p95 {worst.p95:.1f} ms")
    parts.append(f"health p95 {floor.p95:.1f} ms")
    if args.think:
        parts.append(f"closed loop {closed.rps:,.0f} req/s p95 {closed.p95:.1f} ms beside "
                     f"health's {closed_floor.rps:,.0f} req/s p95 {closed_floor.p95:.1f} ms")
    verdict = (f"VERDICT (scale {ds.scale:g}, {ds.backend}, {ds.counts.get('versions', 0):,} "
               f"versions): p95 <= {BAR_P95_MS:.0f} ms at {args.connections} clients "
               f"{'met' if p95_ok else 'NOT met'} ({'; '.join(parts)}); memory < 1 GiB "
               f"{'met' if largest < BAR_RSS else 'NOT met'} (largest process "
               f"{largest / 2**20:,.0f} MiB)"
               + (f"; {errors:,} errors" if errors else "")
               + ("; dashboard endpoint MISSING (not measured)" if DASHBOARD in missing else ""))
    print(verdict)
    return 0
