"""The live demo: chiso on its embedded SQLite database, fed by simulated Hanoi systems.

    uv run python -m chiso_sim.demo            # then open the printed URL; Ctrl-C stops all

It starts ``chiso serve`` (a real process), registers one source per simulated system with
``chiso sources add`` (tokens printed once, kept in memory here), then feeds chiso only through
its doors: the dossier system of the communes, iHanoi, e-office, meetings and the statistics
publisher push batches to the push API; the departments' dossier system is pulled by
``chiso pull`` (a pull connector) from a simulated API that goes down now and then.

The systems first send the last ``--days`` days up to now (a backlog the dossier system works
off in about two minutes at the default ``--rate`` and ``--scale``), then keep producing records
as a simulated clock passes, ``--speed`` times faster than real time (``chiso_sim.live``), so the
tiles keep moving for as long as the demo runs. The statistics publisher sends every ``stats.*``
indicator chiso defines (read from its public API) for each month of this year published so
far; the SME support system sends the SME programme's records since 1/1/2026
(``chiso_sim.sme``), and the statistics office this year's quarterly commune-GRDP releases
(``chiso_sim.grdp``). A leader account (``lanhdao``) is created so that a visitor can sign in
and record decisions from the tiles.

The terminal shows a summary line every ``--every`` seconds (``chiso_sim.watch``); the server's
and the connector's logs go to files beside the database, whose paths are printed. Ctrl-C,
SIGTERM, SIGHUP or the death of either child stops every process the demo started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
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
from chiso_sim.live import SimClock, clocked_batches
from chiso_sim.servers import PullSource, Pusher, ServerThread, free_port, pull_app
from chiso_sim.sme import sme_feeds
from chiso_sim.statistics import city_statistics, fetch_definitions
from chiso_sim.watch import DashboardWatch, Summary

LEADER = "lanhdao"
LEADER_PASSWORD = "lanhdao-demo-2026"  # demo only: the demo database is not for real use
LIVE_DAYS = 400  # how far the simulated window reaches beyond today: longer than any demo runs
FEEDS = ["dvc-so", "dvc-xa", "ihanoi", "eoffice", "hop"]  # the systems that keep producing


def _chiso() -> list[str]:
    found = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")
    return [found]


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(_chiso() + args, env=env, capture_output=True, text=True, check=False,
                          input=stdin)
    if done.returncode != 0:
        raise SystemExit(f"chiso {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def _wait_up(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 300) -> None:
    """Wait for the server to answer; on a busy machine its start and first answer take long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"chiso serve exited; its log: {log}")
        try:
            if httpx.get(url + "/api/v1/feeds", timeout=15).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"chiso did not start in time; its log: {log}")


def _leader(env: dict[str, str]) -> None:
    """The demo's leader account, unless the (kept) database already has it."""
    names = {line.split()[0] for line in _run(["users", "list"], env).splitlines() if line}
    if LEADER in names:
        return
    _run(["users", "add", LEADER], env, stdin=f"{LEADER_PASSWORD}\n{LEADER_PASSWORD}\n")
    _run(["users", "grant", LEADER, "leader"], env)


class SignalStopError(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop as Ctrl-C does."""


def _on_signal(signum: int, _frame: object) -> None:
    raise SignalStopError(signal.Signals(signum).name)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a child and wait for it: SIGTERM, then SIGKILL after 10 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _boundaries(option: str | None, env: dict[str, str]) -> str:
    """Point the server at the boundary files (``--boundaries`` or ``CHISO_BOUNDARIES_DIR``);
    say which map the visitor will see."""
    folder = option or env.get("CHISO_BOUNDARIES_DIR")
    if not folder:
        env.pop("CHISO_BOUNDARIES_DIR", None)
        return ("map: the tile grid (for the commune map pass --boundaries DIR; development "
                "copies are in ../shared/data/hanoi/geojson)")
    path = Path(folder).resolve()
    if not (path / "wards").is_dir():
        raise SystemExit(f"--boundaries {folder}: no wards/ folder of commune boundary files "
                         "there; give the folder that holds wards/ (e.g. "
                         "../shared/data/hanoi/geojson)")
    env["CHISO_BOUNDARIES_DIR"] = str(path)
    return f"map: the communes' boundaries from {path}"


def main(argv: list[str] | None = None) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        code = _main(argv)
    except KeyboardInterrupt:  # while setting up: _main stopped what it started
        print("\nchiso demo stopped.", flush=True)
        code = 0
    raise SystemExit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", default="var/demo.db", help="SQLite file (kept between runs)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--days", type=int, default=60,
                        help="backlog: the systems' records from this many days ago up to now")
    parser.add_argument("--rate", type=float, default=400.0,
                        help="backlog dossier versions pushed per second (about)")
    parser.add_argument("--scale", type=float, default=0.05,
                        help="dossier volume as a share of Hanoi's (1: the whole city; the "
                             "default backlog is sent in about two minutes)")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="simulated seconds per real second: after the backlog the systems "
                             "produce records as this clock passes (60: an hour a minute)")
    parser.add_argument("--boundaries", metavar="DIR",
                        help="folder of commune boundary files (holding wards/): the map shows "
                             "the communes; without it, a tile grid")
    parser.add_argument("--every", type=float, default=10.0,
                        help="seconds between summary lines")
    parser.add_argument("--fresh", action="store_true", help="start from an empty database")
    parser.add_argument("--duration", type=float, default=0,
                        help="stop by itself after this many seconds (0: run until stopped)")
    return parser


def _main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.speed <= 0 or args.every <= 0 or args.rate <= 0:
        raise SystemExit("--speed, --every and --rate must be above 0")
    db = Path(args.db).resolve()
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CHISO_DATABASE_URL": f"sqlite:///{db}"}
    env.setdefault("CHISO_ENV", "demo")  # the demo runs on the repository's development keys
    # the open month's drafts follow the data the simulators send, within a quarter of an hour
    env.setdefault("CHISO_REPORTS_SCHEDULE_SECONDS", "300")
    env.setdefault("CHISO_REPORTS_REFRESH_SECONDS", "900")
    map_line = _boundaries(args.boundaries, env)
    url = f"http://127.0.0.1:{args.port}"
    server_log = db.with_name(db.stem + "-server.log")
    pull_log = db.with_name(db.stem + "-pull.log")
    print(f"Bảng điều hành: {url}/   (starting…)", flush=True)
    print(f"chiso demo: database {db}\n  server log: {server_log}\n  connector log: {pull_log}",
          flush=True)
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
    threads: list[threading.Thread] = []
    code = 0
    try:
        with server_log.open("ab") as log:
            server = subprocess.Popen([*_chiso(), "serve", "--port", str(args.port)], env=env,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        _wait_up(url, server, server_log)
        now = datetime.now(VN)
        clock = SimClock(now, args.speed)
        today = now.date()
        start = today - timedelta(days=args.days)
        days = args.days + 1 + LIVE_DAYS  # the backlog, today, and the days the clock reaches
        definitions, targets = fetch_definitions(url)
        statistics = list(city_statistics(definitions, targets, args.seed, today.year))
        source = PullSource([], release_per_second=args.rate / 4)
        caught_up = {feed: threading.Event() for feed in FEEDS}

        def feed_pull_source() -> None:  # the departments' system: its records as time passes
            for batch in clocked_batches(
                    dossier_stream(args.seed + 100, start, days, scale=args.scale,
                                   units=DEPARTMENTS),
                    clock, "received_at", 500, stop, caught_up["dvc-so"]):
                source.records.extend(batch)

        threads.append(threading.Thread(target=feed_pull_source, daemon=True))
        threads[-1].start()
        pull_server = ServerThread(pull_app(source), port=free_port()).__enter__()
        with pull_log.open("ab") as log:
            puller = subprocess.Popen(
                [*_chiso(), "pull", "dvc-so", "--feed", "tthc.dossier", "--source", "dvc-so",
                 "--url", pull_server.url, "--interval", "2", "--page-size", "500"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        watch = DashboardWatch(url, stop)
        watch.start()
        live: list[tuple[str, str, Any, str, int, float]] = [
            ("dvc-xa", "tthc.dossier",
             (r for r in dossier_stream(args.seed, start, days, scale=args.scale)
              if r["unit"] not in DEPARTMENTS), "received_at", 200, 200 / args.rate),
            ("ihanoi", "ihanoi.feedback", feedback_versions(args.seed, start, days),
             "received_at", 200, 1.0),
            ("eoffice", "eoffice.document", document_versions(args.seed, start, days),
             "sent_at", 200, 1.0),
            ("hop", "meetings.meeting", meeting_versions(args.seed, start, days),
             "starts_at", 100, 2.0),
        ]
        pushers: list[Pusher] = []
        for name, feed, records, origin, size, pause in live:
            pusher = Pusher(url, tokens[name], feed, stop=stop, keep_acked=False,
                            on_ack=watch.acknowledged)
            pushers.append(pusher)
            threads.append(pusher.start_batches(
                clocked_batches(records, clock, origin, size, stop, caught_up[name]), pause))
        stats = Pusher(url, tokens["thongke"], "stats.value", stop=stop, keep_acked=False,
                       on_ack=watch.acknowledged)
        pushers.append(stats)
        threads.append(stats.start(statistics, batch_size=1000, pause=0.5))
        # the SME programme from the plan's start (1/1/2026) to now, at 2% of full scale
        for name, (feed, records) in zip(("dnnvv", "tuvanvien", "dn-tieubieu"),
                                         sme_feeds(args.seed, date(2026, 1, 1), now).items(),
                                         strict=True):
            sme = Pusher(url, tokens[name], feed, stop=stop, keep_acked=False,
                         on_ack=watch.acknowledged)
            pushers.append(sme)
            threads.append(sme.start(records, batch_size=500, pause=2.0))
        # commune GRDP: this year's quarterly releases so far, with their revisions
        grdp = Pusher(url, tokens["thongke-grdp"], "stats.grdp", stop=stop, keep_acked=False,
                      on_ack=watch.acknowledged)
        pushers.append(grdp)
        threads.append(grdp.start(grdp_releases(args.seed, today.year, now), batch_size=1000,
                                  pause=2.0))

        def outages() -> None:  # the departments' system goes down for 15 s every 2 minutes
            while not stop.wait(120):
                source.down_until = time.monotonic() + 15
                source.events.append("the departments' dossier system goes down for 15 s")

        threading.Thread(target=outages, daemon=True).start()
        print(f"\nBảng điều hành: {url}/\n"
              f"  Đăng nhập (lãnh đạo, ghi quyết định từ ô): {LEADER} / {LEADER_PASSWORD}"
              "   (demo only)\n"
              f"  Upload page: {url}/intake/upload, data quality: "
              f"{url}/api/v1/data-quality?feed=tthc.dossier&unit=00070\n"
              f"  {map_line}\n"
              f"Simulators are feeding it: the backlog from {start:%d/%m/%Y}, then records as "
              f"the simulated clock passes ({args.speed:g}× real time), "
              f"{len(statistics)} statistics records; Ctrl-C stops everything.\n", flush=True)
        code = _watch(args, server, puller, server_log, pull_log, clock, caught_up,
                      Summary(pushers, source, watch), source)
    except KeyboardInterrupt as exc:
        print(f"\nstopping ({exc or 'Ctrl-C'})…", flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        stop.set()
        deadline = time.monotonic() + 5  # the threads end at their next look at ``stop``
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
        _stop(puller)
        _stop(server)
        if pull_server is not None:
            pull_server.__exit__(None, None, None)
        print("chiso demo stopped.", flush=True)
    return code


def _watch(args: argparse.Namespace, server: subprocess.Popen[bytes],
           puller: subprocess.Popen[bytes], server_log: Path, pull_log: Path, clock: SimClock,
           caught_up: dict[str, threading.Event], summary: Summary, source: PullSource) -> int:
    """Print the summary every ``--every`` seconds until stopped, ``--duration`` is over or a
    child dies; returns the exit code (1 when a child died)."""
    began = time.monotonic()
    next_line = began + args.every
    announced: set[str] = set()
    while True:
        time.sleep(0.5)
        for proc, what, log in ((server, "chiso serve", server_log),
                                (puller, "the pull connector", pull_log)):
            if proc.poll() is not None:
                print(f"{what} exited (code {proc.returncode}); stopping the demo. Its log: "
                      f"{log}", flush=True)
                return 1
        for feed, done in caught_up.items():
            if done.is_set() and feed not in announced:
                announced.add(feed)
                print(f"  {feed}: backlog sent ({time.monotonic() - began:.0f} s); now live",
                      flush=True)
        if time.monotonic() >= next_line:
            next_line += args.every
            print(f"  simulated time {clock.now():%d/%m/%Y %H:%M}", flush=True)
            for line in summary.lines(source.pulled):
                print(line, flush=True)
        if args.duration and time.monotonic() - began > args.duration:
            return 0


if __name__ == "__main__":
    main()
