"""The work a chiso deployment does besides answering requests, and where it runs.

Single-run work (``chiso.store.leader.run_once``: each item in exactly one process of all
those sharing the database) and the outbox's delivery worker. :func:`run` runs them until
cancelled; whoever calls it decides the process:

- ``chiso serve`` on PostgreSQL runs them in a **work process** of their own (``chiso work``,
  at a lower CPU priority), so that a report being written, an alert run or the open-data
  change log never holds a request up: a Python process runs one thread at a time, and
  a request waiting behind a CPU-bound thread waits for all of it. Its serving processes run
  none of it (``CHISO_BACKGROUND=0``).
- One process on SQLite (the embedded default, the demo, the tests) runs it inside the web
  app, as the only process there is.

Which process holds which work is visible in PostgreSQL (``pg_stat_activity``:
``application_name`` ``chiso-single-run:<work>@<server>``, see :func:`chiso.store.leader.owner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from chiso.access import audit
from chiso.access.settings import AccessSettings
from chiso.config import Settings
from chiso.context import Runtime
from chiso.exports import changelog, channels, delivery, exporters
from chiso.intake import pull_sources
from chiso.intake.settings import get_intake_settings
from chiso.outlook.alerts import run_alerts
from chiso.reports import schedule as reports_schedule
from chiso.scoring.follow import follow
from chiso.store import changes
from chiso.store.leader import SERVER_ID, owner, run_once

__all__ = ["WorkProcess", "run", "serve_work", "single_run_work", "stop_with"]

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]


def single_run_work(rt: Runtime, access: AccessSettings,
                    settings: Settings | None = None) -> list[tuple[str, Loop]]:
    """The single-run work ``settings`` (default: the runtime's) turn on: each item's lock
    name and the loop it runs (the lock's name is what ``/api/v1/health`` and
    ``pg_stat_activity`` show)."""
    settings = settings or rt.settings
    items: list[tuple[str, object, Loop]] = [
        ("change-stream-prune", True, _prune(rt)),
        ("audit-checkpoint", access.checkpoint_seconds, _seal(rt, access)),
        ("scores", settings.scores_follow,
         lambda: follow(rt.engine, rt.catalog, rt.hub, settings.scores_debounce)),
        ("reports-schedule", settings.reports_schedule,
         lambda: reports_schedule.loop(
             rt, settings.reports_schedule_seconds,
             timedelta(seconds=settings.reports_refresh_seconds))),
        ("exporters", channels.exporters(rt.settings), _export(rt)),
        ("open-data-changelog", settings.changelog_interval, _publish(rt, settings)),
        ("pull-sources", settings.pull_sources_run,
         lambda: pull_sources.serve(rt.engine, rt.catalog, get_intake_settings(),
                                    rt.clock.now, settings.pull_sources_poll)),
        ("alerts", settings.alerts_run, _alert(rt)),
    ]
    return [(name, loop) for name, on, loop in items if on]


async def run(rt: Runtime, access: AccessSettings, settings: Settings | None = None) -> None:
    """Run the background work over a started runtime until cancelled: every single-run
    item under its lock, and (when ``outbox_deliver``) the outbox's delivery worker, which
    its own lock lets deliver in one process at a time. ``settings`` (default: the
    runtime's): which work runs, and how often (a web app may be built with its own)."""
    settings = settings or rt.settings
    stop = threading.Event()
    if settings.outbox_deliver:
        threading.Thread(target=delivery.run, name="chiso-outbox", daemon=True,
                         args=(channels.deliverer(rt.settings, rt.engine), stop),
                         kwargs={"poll": settings.outbox_poll}).start()
    tasks = [asyncio.create_task(run_once(name, rt.engine, loop, held=rt.running))
             for name, loop in single_run_work(rt, access, settings)]
    try:
        await asyncio.gather(*tasks)
        await asyncio.Event().wait()  # the outbox's worker runs on until cancelled
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def serve_work(rt: Runtime, access: AccessSettings, *, parent: int | None = None) -> None:
    """Run :func:`run` in this process until SIGTERM or SIGINT (or, with ``parent``, until that
    process is gone: a server killed outright leaves no work process behind). The runtime's
    services (the change stream's listener) run meanwhile. On return, a piece of work may
    still be running in a thread: the caller ends the process without waiting for it, which
    every piece allows (its transaction rolls back; a report's claim expires and is taken
    again, ``chiso.reports.schedule``)."""
    rt.start()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        work = asyncio.create_task(run(rt, access))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, work.cancel)
        if parent is not None:
            stop_with(parent)
        with contextlib.suppress(asyncio.CancelledError):
            await work

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        rt.stop()
        loop.close()  # leaves a thread still at work running; the caller exits without it


def stop_with(parent: int) -> None:
    """Send this process SIGTERM (so that it stops in order) within a second of ``parent``
    being gone: a server killed outright leaves none of its processes behind, serving on
    their own or holding single-run work."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        log.warning("the server (pid %d) is gone: this process stops", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="chiso-parent-watch", daemon=True).start()


class WorkProcess:
    """Keeps one ``chiso work`` process running beside a server (its child, restarted within
    a second or two when it dies) until :meth:`stop`. The child gets ``CHISO_SERVER_ID`` (this
    process's id) so its locks name this server, and the environment's other settings."""

    def __init__(self, *, restart_after: float = 1.0) -> None:
        self._restart_after = restart_after
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep, name="chiso-work-process",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace: float = 15.0) -> None:
        """Stop the child (SIGTERM, then SIGKILL after ``grace`` seconds) and stop restarting."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._thread.join(grace)

    def _command(self) -> list[str]:
        beside = Path(sys.executable).parent / "chiso"  # this installation's, first
        found = str(beside) if beside.exists() else (shutil.which("chiso") or "chiso")
        return [found, "work", "--parent", str(os.getpid())]

    def _keep(self) -> None:
        env = {**os.environ, SERVER_ID: owner(), "CHISO_BACKGROUND": "1"}
        wait = self._restart_after
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                started = time.monotonic()
                self._proc = subprocess.Popen(self._command(), env=env)
            code = self._proc.wait()
            if self._stopping.is_set():
                return
            # One that keeps failing at start (the database away) is retried less and less
            # often, up to a minute apart; one that ran a while is started again at once.
            wait = self._restart_after if time.monotonic() - started > 30 else min(wait * 2, 60)
            log.warning("the work process stopped (exit %s); starting it again in %.0f s",
                        code, wait)
            self._stopping.wait(wait)


async def _repeat(what: str, work: Callable[[], object], every: float, *,
                  wait_first: bool = False) -> None:
    """Run ``work()`` in a thread now (after ``every`` seconds with ``wait_first``) and every
    ``every`` seconds after, until cancelled. A run that fails is logged and the next one
    goes ahead: the database away for a moment, a receiver down or a full disk must not stop
    the work."""
    if wait_first:
        await asyncio.sleep(every)
    while True:
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(every)


def _seal(rt: Runtime, access: AccessSettings) -> Loop:
    """Sign a checkpoint of the audit log every ``checkpoint_seconds`` (docs/access.md)."""
    return lambda: _repeat("audit checkpoint", lambda: audit.checkpoint(
        rt.engine, access.audit_key_file, access.audit_checkpoint_file),
        access.checkpoint_seconds, wait_first=True)


def _export(rt: Runtime) -> Loop:
    """Run the configured exporters now and every ``export_interval`` seconds: each run
    writes a new version of whatever changed since the last (docs/emc.md)."""
    return lambda: _repeat("export", lambda: exporters.export_all(rt, rt.clock.today()),
                           rt.settings.export_interval)


def _publish(rt: Runtime, settings: Settings) -> Loop:
    """Publish the open datasets' figures for the periods that still move, now and every
    ``changelog_interval`` seconds when their data may have changed since
    (``changelog.data_mark``), and at least every ``changelog_full_seconds``; log what
    changed (docs/opendata.md). A publication reads every target's outlook at every unit:
    with no new data, skipping it leaves the work process idle."""
    published: tuple[object, ...] | None = None  # the mark last published, and when
    published_at = -math.inf

    def publish() -> None:
        nonlocal published, published_at
        today = rt.clock.today()
        with rt.engine.connect() as conn:
            mark = changelog.data_mark(conn, today)  # read before: a change during counts
        full = time.monotonic() - published_at >= settings.changelog_full_seconds
        if mark != published or full:
            changelog.record_all(rt, today, exporters.periods_to_watch(today))
            published, published_at = mark, time.monotonic()

    return lambda: _repeat("change log: publishing", publish, settings.changelog_interval)


def _alert(rt: Runtime) -> Loop:
    """Raise, deliver and escalate alerts now and every ``alerts_interval`` seconds, as of the
    runtime's day (``chiso alerts run`` does one such run)."""
    return lambda: _repeat("alerts: the run", lambda: run_alerts(
        rt.engine, rt.settings, rt.clock.today(), rt.catalog), rt.settings.alerts_interval)


def _prune(rt: Runtime, every: float = 600.0) -> Loop:
    """Remove change events no listener needs any more (``chiso.store.changes.KEEP``)."""
    return lambda: _repeat("pruning the change stream", lambda: changes.prune(rt.engine), every)
