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
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import date
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
from chiso.store.leader import SERVER_ID, run_once

__all__ = ["WorkProcess", "run", "serve_work", "single_run_work"]

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]


def single_run_work(rt: Runtime, access: AccessSettings,
                    settings: Settings | None = None) -> list[tuple[str, Loop]]:
    """The single-run work ``settings`` (default: the runtime's) turn on: each item's lock
    name and the loop it runs (the lock's name is what ``/api/v1/health`` and
    ``pg_stat_activity`` show)."""
    settings = settings or rt.settings
    items: list[tuple[str, object, Loop]] = [
        ("change-stream-prune", True, lambda: _prune_periodically(rt)),
        ("audit-checkpoint", access.checkpoint_seconds,
         lambda: _seal_periodically(rt, access)),
        ("scores", settings.scores_follow,
         lambda: follow(rt.engine, rt.catalog, rt.hub, settings.scores_debounce)),
        ("reports-schedule", settings.reports_schedule,
         lambda: reports_schedule.loop(rt, settings.reports_schedule_seconds)),
        ("exporters", channels.exporters(rt.settings), lambda: _export_periodically(rt)),
        ("open-data-changelog", settings.changelog_interval,
         lambda: _publish_periodically(rt, settings)),
        ("pull-sources", settings.pull_sources_run,
         lambda: pull_sources.serve(rt.engine, rt.catalog, get_intake_settings(),
                                    rt.clock.now, settings.pull_sources_poll)),
        ("alerts", settings.alerts_run, lambda: _alert_periodically(rt)),
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
        watch = None if parent is None else asyncio.create_task(_watch_parent(parent, work))
        with contextlib.suppress(asyncio.CancelledError):
            await work
        if watch is not None:
            watch.cancel()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        rt.stop()
        loop.close()  # leaves a thread still at work running; the caller exits without it


async def _watch_parent(parent: int, work: asyncio.Task[None]) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    log.warning("the server (pid %d) is gone: the work process stops", parent)
    work.cancel()


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
        env = {**os.environ, SERVER_ID: os.environ.get(SERVER_ID) or str(os.getpid()),
               "CHISO_BACKGROUND": "1"}
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


async def _seal_periodically(rt: Runtime, access: AccessSettings) -> None:
    """Sign a checkpoint of the audit log every ``checkpoint_seconds`` (docs/access.md)."""
    while True:
        await asyncio.sleep(access.checkpoint_seconds)
        try:
            await asyncio.to_thread(audit.checkpoint, rt.engine, access.audit_key_file,
                                    access.audit_checkpoint_file)
        except Exception:  # a full disk must not stop the work; verify will show the gap
            log.exception("audit checkpoint failed")


async def _export_periodically(rt: Runtime) -> None:
    """Run the configured exporters now and every ``export_interval`` seconds: each run
    writes a new version of whatever changed since the last (docs/emc.md)."""
    while True:
        try:
            await asyncio.to_thread(exporters.export_all, rt, rt.clock.today())
        except Exception:  # the database went away: try again next time
            log.exception("export failed")
        await asyncio.sleep(rt.settings.export_interval)


async def _publish_periodically(rt: Runtime, settings: Settings) -> None:
    """Publish the open datasets' figures for the periods that still move, now and every
    ``changelog_interval`` seconds when their data may have changed since
    (``changelog.data_mark``), and at least every ``changelog_full_seconds``; log what
    changed (docs/opendata.md). A publication reads every target's outlook at every unit:
    with no new data, skipping it leaves the work process idle."""
    published: tuple[object, ...] | None = None
    full_at = 0.0
    while True:
        try:
            today = rt.clock.today()
            mark = await asyncio.to_thread(_mark, rt, today)  # before: a change during counts
            due = time.monotonic() - full_at >= settings.changelog_full_seconds
            if mark != published or due:
                await asyncio.to_thread(changelog.record_all, rt, today,
                                        exporters.periods_to_watch(today))
                published, full_at = mark, time.monotonic()
        except Exception:  # the database went away: try again next time
            log.exception("change log: publishing failed")
        await asyncio.sleep(settings.changelog_interval)


def _mark(rt: Runtime, today: date) -> tuple[object, ...]:
    with rt.engine.connect() as conn:
        return changelog.data_mark(conn, today)


async def _alert_periodically(rt: Runtime) -> None:
    """Raise, deliver and escalate alerts now and every ``alerts_interval`` seconds, as of the
    runtime's day (``chiso alerts run`` does one such run)."""
    while True:
        try:
            await asyncio.to_thread(run_alerts, rt.engine, rt.settings, rt.clock.today(),
                                    rt.catalog)
        except Exception:  # the database or a receiver away: next time
            log.exception("alerts: the run failed")
        await asyncio.sleep(rt.settings.alerts_interval)


async def _prune_periodically(rt: Runtime, every: float = 600.0) -> None:
    """Remove change events no listener needs any more (``chiso.store.changes.KEEP``)."""
    while True:
        try:
            await asyncio.to_thread(changes.prune, rt.engine)
        except Exception:  # the database away for a moment: next time
            log.exception("pruning the change stream failed")
        await asyncio.sleep(every)
