"""The live demo: chiso on its embedded SQLite database, fed by simulated Hanoi systems.

    uv run python -m chiso_sim.demo            # then open the printed URL; Ctrl-C stops all

It starts ``chiso serve`` (a real process), registers one source per simulated system with
``chiso sources add`` (tokens printed once, kept in memory here), then feeds chiso only through
its doors: the dossier system of the communes, iHanoi, e-office, meetings and the statistics
publisher push batches to the push API; the departments' dossier system is pulled by
``chiso pull`` (a pull connector) from a simulated API that goes down now and then.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from chiso_sim.hanoi import (
    DEPARTMENTS,
    document_versions,
    dossier_stream,
    feedback_versions,
    meeting_versions,
    stats_values,
)
from chiso_sim.servers import PullSource, Pusher, ServerThread, free_port, pull_app


def _chiso() -> list[str]:
    found = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")
    return [found]


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(_chiso() + args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"chiso {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def _wait_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("chiso serve exited; see its output above")
        try:
            if httpx.get(url + "/api/v1/feeds", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("chiso did not start in time")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while setting up: nothing is running yet
        print("\nchiso demo stopped.", flush=True)


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", default="var/demo.db", help="SQLite file (kept between runs)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--days", type=int, default=120, help="simulated days from 05/01/2026")
    parser.add_argument("--rate", type=float, default=400.0,
                        help="dossier versions pushed per second (about)")
    parser.add_argument("--fresh", action="store_true", help="start from an empty database")
    parser.add_argument("--duration", type=float, default=0,
                        help="stop by itself after this many seconds (0: run until Ctrl-C)")
    args = parser.parse_args(argv)

    db = Path(args.db).resolve()
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    env = {**os.environ, "CHISO_DATABASE_URL": f"sqlite:///{db}"}
    env.setdefault("CHISO_ENV", "development")
    print(f"chiso demo: database {db}", flush=True)
    _run(["db", "upgrade"], env)
    tokens = {
        name: _run(["sources", "add", name, "--feed", feed], env).splitlines()[-1]
        for name, feed in [("dvc-xa", "tthc.dossier"), ("ihanoi", "ihanoi.feedback"),
                           ("eoffice", "eoffice.document"), ("hop", "meetings.meeting"),
                           ("thongke", "stats.value")]
    }
    url = f"http://127.0.0.1:{args.port}"
    stop = threading.Event()
    server: subprocess.Popen[bytes] | None = None
    puller: subprocess.Popen[bytes] | None = None
    pull_server: ServerThread | None = None
    pushers: list[Pusher] = []
    threads: list[threading.Thread] = []
    original = signal.getsignal(signal.SIGINT)
    try:
        server = subprocess.Popen([*_chiso(), "serve", "--port", str(args.port)], env=env,
                                  start_new_session=True)
        _wait_up(url, server)
        start = date(2026, 1, 5)
        communes_only = None  # every unit; departments' dossiers come through the pull door
        dept_records = list(itertools.islice(
            dossier_stream(args.seed + 100, start, args.days, units=DEPARTMENTS), 200_000))
        dept_records.sort(key=lambda r: (r["updated_at"], r["id"]))
        source = PullSource(dept_records, release_per_second=args.rate / 4)
        pull_server = ServerThread(pull_app(source), port=free_port()).__enter__()
        puller = subprocess.Popen(
            [*_chiso(), "pull", "dvc-so", "--feed", "tthc.dossier", "--source", "dvc-so",
             "--url", pull_server.url, "--interval", "2", "--page-size", "500"],
            env=env, start_new_session=True)
        feeds: list[tuple[str, str, Any, int, float]] = [
            ("dvc-xa", "tthc.dossier",
             (r for r in dossier_stream(args.seed, start, args.days, units=communes_only)
              if r["unit"] not in DEPARTMENTS), 200, 200 / args.rate),
            ("ihanoi", "ihanoi.feedback", feedback_versions(args.seed, start, args.days), 200,
             1.0),
            ("eoffice", "eoffice.document", document_versions(args.seed, start, args.days), 200,
             1.0),
            ("hop", "meetings.meeting", meeting_versions(args.seed, start, args.days), 100, 2.0),
            ("thongke", "stats.value", stats_values(args.seed), 126, 5.0),
        ]
        for name, feed, records, size, pause in feeds:
            pusher = Pusher(url, tokens[name], feed, stop=stop)
            pushers.append(pusher)
            threads.append(pusher.start(records, batch_size=size, pause=pause))

        def outage() -> None:  # the departments' system goes down for 15 s every 2 minutes
            while not stop.wait(120):
                source.down_until = time.monotonic() + 15
                print("  (simulated outage of the departments' dossier system: 15 s)",
                      flush=True)

        threading.Thread(target=outage, daemon=True).start()
        print(f"\nchiso is running: {url}/   (upload page: {url}/intake/upload, data quality: "
              f"{url}/api/v1/data-quality?feed=tthc.dossier&unit=00070)\n"
              "Simulators are feeding it; Ctrl-C stops everything.\n", flush=True)
        began = time.monotonic()
        while not stop.wait(10):
            acked = {p.feed: sum(len(b) for b in p.acked) for p in pushers}
            print("  pushed and acknowledged: " + ", ".join(f"{k} {v}" for k, v in acked.items())
                  + f"; pulled pages served: {source.requests}", flush=True)
            if args.duration and time.monotonic() - began > args.duration:
                break
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        _stop(puller)
        _stop(server)
        if pull_server is not None:
            pull_server.__exit__(None, None, None)
        signal.signal(signal.SIGINT, original)
        print("chiso demo stopped.", flush=True)


if __name__ == "__main__":
    main()
