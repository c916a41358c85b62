"""The live demo: chiso on its embedded SQLite database, fed by simulated Hanoi systems.

    uv run python -m chiso_sim.demo            # then open the printed URL; Ctrl-C stops all

It starts ``chiso serve`` (a real process), registers one source per simulated system with
``chiso sources add`` (tokens printed once, kept in memory here), then feeds chiso only through
its doors: the dossier system of the communes, iHanoi, e-office, meetings and the statistics
publisher push batches to the push API; the departments' dossier system is pulled by
``chiso pull`` (a pull connector) from a simulated API that goes down now and then.

The simulated window ends today: the systems send the last ``--days`` days (a backlog the
dossier system works off in about two minutes at the default ``--rate`` and ``--scale``, then
today's records), and the statistics publisher sends every ``stats.*`` indicator chiso defines
(read from its public API) for each month of this year published so far; the SME support
system sends the SME programme's records since 1/1/2026 (``chiso_sim.sme``), and the statistics
office this year's quarterly commune-GRDP releases (``chiso_sim.grdp``). A leader account
(``lanhdao``) is created so that a visitor can sign in and record decisions from the tiles.
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
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from chiso_sim.grdp import grdp_releases
from chiso_sim.hanoi import (
    DEPARTMENTS,
    VN,
    document_versions,
    dossier_stream,
    feedback_versions,
    meeting_versions,
)
from chiso_sim.servers import PullSource, Pusher, ServerThread, free_port, pull_app
from chiso_sim.sme import sme_feeds
from chiso_sim.statistics import city_statistics, fetch_definitions

LEADER = "lanhdao"
LEADER_PASSWORD = "lanhdao-demo-2026"  # demo only: the demo database is not for real use


def _chiso() -> list[str]:
    found = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")
    return [found]


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(_chiso() + args, env=env, capture_output=True, text=True, check=False,
                          input=stdin)
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


def _until(records: Iterable[dict[str, Any]], now: datetime) -> Iterator[dict[str, Any]]:
    """The record versions a system has by ``now``: a dossier received today is not resolved
    yet (its later versions lie in the future and are not sent)."""
    return (r for r in records if datetime.fromisoformat(r["updated_at"]) <= now)


def _leader(env: dict[str, str]) -> None:
    """The demo's leader account, unless the (kept) database already has it."""
    names = {line.split()[0] for line in _run(["users", "list"], env).splitlines() if line}
    if LEADER in names:
        return
    _run(["users", "add", LEADER], env, stdin=f"{LEADER_PASSWORD}\n{LEADER_PASSWORD}\n")
    _run(["users", "grant", LEADER, "leader"], env)


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
    parser.add_argument("--days", type=int, default=60,
                        help="simulated days: from this many days ago up to today")
    parser.add_argument("--rate", type=float, default=400.0,
                        help="dossier versions pushed per second (about)")
    parser.add_argument("--scale", type=float, default=0.05,
                        help="dossier volume as a share of Hanoi's (1: the whole city; the "
                             "default backlog is sent in about two minutes)")
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
    url = f"http://127.0.0.1:{args.port}"
    print(f"Bảng điều hành: {url}/   (starting…)", flush=True)
    print(f"chiso demo: database {db}", flush=True)
    _run(["db", "upgrade"], env)
    _leader(env)
    tokens = {
        name: _run(["sources", "add", name, "--feed", feed], env).splitlines()[-1]
        for name, feed in [("dvc-xa", "tthc.dossier"), ("ihanoi", "ihanoi.feedback"),
                           ("eoffice", "eoffice.document"), ("hop", "meetings.meeting"),
                           ("thongke", "stats.value"), ("dnnvv", "sme.support"),
                           ("tuvanvien", "sme.consultant"), ("dn-tieubieu", "sme.exemplary"),
                           ("thongke-grdp", "stats.grdp")]
    }
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
        now = datetime.now(VN)
        today = now.date()
        start = today - timedelta(days=args.days)
        days = args.days + 1  # up to today included
        definitions, targets = fetch_definitions(url)
        statistics = list(city_statistics(definitions, targets, args.seed, today.year))
        communes_only = None  # every unit; departments' dossiers come through the pull door
        dept_records = list(itertools.islice(_until(
            dossier_stream(args.seed + 100, start, days, scale=args.scale, units=DEPARTMENTS),
            now), 200_000))
        dept_records.sort(key=lambda r: (r["updated_at"], r["id"]))
        source = PullSource(dept_records, release_per_second=args.rate / 4)
        pull_server = ServerThread(pull_app(source), port=free_port()).__enter__()
        puller = subprocess.Popen(
            [*_chiso(), "pull", "dvc-so", "--feed", "tthc.dossier", "--source", "dvc-so",
             "--url", pull_server.url, "--interval", "2", "--page-size", "500"],
            env=env, start_new_session=True)
        feeds: list[tuple[str, str, Any, int, float]] = [
            ("dvc-xa", "tthc.dossier",
             (r for r in _until(dossier_stream(args.seed, start, days, scale=args.scale,
                                               units=communes_only), now)
              if r["unit"] not in DEPARTMENTS), 200, 200 / args.rate),
            ("ihanoi", "ihanoi.feedback", _until(feedback_versions(args.seed, start, days), now),
             200, 1.0),
            ("eoffice", "eoffice.document",
             _until(document_versions(args.seed, start, days), now), 200, 1.0),
            ("hop", "meetings.meeting", _until(meeting_versions(args.seed, start, days), now),
             100, 2.0),
            ("thongke", "stats.value", statistics, 1000, 0.5),
        ]
        # the SME programme from the plan's start (1/1/2026) to now, at 2% of full scale
        for name, (feed, records) in zip(("dnnvv", "tuvanvien", "dn-tieubieu"),
                                         sme_feeds(args.seed, date(2026, 1, 1), now).items(),
                                         strict=True):
            feeds.append((name, feed, records, 500, 2.0))
        # commune GRDP: this year's quarterly releases so far, with their revisions
        feeds.append(("thongke-grdp", "stats.grdp", grdp_releases(args.seed, today.year, now),
                      1000, 2.0))
        for name, feed, records, size, pause in feeds:
            pusher = Pusher(url, tokens[name], feed, stop=stop)
            pushers.append(pusher)
            threads.append(pusher.start(records, batch_size=size, pause=pause))
        sent: set[str] = set()

        def outage() -> None:  # the departments' system goes down for 15 s every 2 minutes
            while not stop.wait(120):
                source.down_until = time.monotonic() + 15
                print("  (simulated outage of the departments' dossier system: 15 s)",
                      flush=True)

        threading.Thread(target=outage, daemon=True).start()
        print(f"\nBảng điều hành: {url}/\n"
              f"  Đăng nhập (lãnh đạo, ghi quyết định từ ô): {LEADER} / {LEADER_PASSWORD}"
              "   (demo only)\n"
              f"  Upload page: {url}/intake/upload, data quality: "
              f"{url}/api/v1/data-quality?feed=tthc.dossier&unit=00070\n"
              f"Simulators are feeding it: {start:%d/%m/%Y} to today {today:%d/%m/%Y}, "
              f"{len(statistics)} statistics records; Ctrl-C stops everything.\n", flush=True)
        began = time.monotonic()
        while not stop.wait(10):
            acked = {p.feed: sum(len(b) for b in p.acked) for p in pushers}
            print("  pushed and acknowledged: " + ", ".join(f"{k} {v}" for k, v in acked.items())
                  + f"; pulled pages served: {source.requests}", flush=True)
            for pusher, thread in zip(pushers, threads, strict=True):
                if not thread.is_alive() and pusher.feed not in sent:
                    sent.add(pusher.feed)
                    print(f"  {pusher.feed}: every record up to today sent "
                          f"({time.monotonic() - began:.0f} s)", flush=True)
            if source.available() == len(source.records) and "pull" not in sent:
                sent.add("pull")
                print(f"  departments' dossiers: all released to the pull connector "
                      f"({time.monotonic() - began:.0f} s)", flush=True)
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
