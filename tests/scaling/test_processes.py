"""Several server processes, one truth (docs/scaling.md): two real ``chiso serve`` servers
on one PostgreSQL database, each a serving process and a work process of its own. A record
pushed to one appears in the other's change stream and dashboard board; the single-run work is
held by exactly one server's work process, at a lower CPU priority, never by a serving process;
when that server is killed (SIGKILL) the other takes the work over within seconds, and a work
process killed alone is started again by its server. SQLite serves one process: PostgreSQL
only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from tests.conftest import prepared_runtime
from tests.factories import dossier

from chiso.catalog.loader import Catalog
from chiso.dashboard.board import opening_day
from chiso.intake.sources import add_source
from chiso.store.db import libpq_url, make_engine

CHISO = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")
SINGLE_RUN = {"scores", "audit-checkpoint", "change-stream-prune"}
TILE = "ho-so-tiep-nhan"  # dossiers received this month, from tthc.dossiers_received


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    database: str  # libpq's form of the database URL

    def held(self) -> set[str]:
        """The single-run work this server holds, as PostgreSQL names its lock connections
        (``chiso-single-run:<work>@<server pid>``)."""
        with psycopg.connect(self.database) as conn:
            names = conn.execute(
                "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE "
                "'chiso-single-run:%%@' || %s", (str(self.proc.pid),)).fetchall()
        return {name.removeprefix("chiso-single-run:").rsplit("@", 1)[0] for name, in names}

    def work_process(self) -> int | None:
        """The pid of the server's work process (its ``chiso work`` child), if running."""
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):  # any thread's child
            try:
                for pid in (task / "children").read_text().split():
                    if b"work" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                        return int(pid)
            except OSError:  # a thread or a child that just ended
                continue
        return None

    def health(self) -> dict[str, object] | None:
        try:
            r = httpx.get(self.url + "/api/v1/health", timeout=2)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    def kill(self) -> None:
        """SIGKILL the server and its worker: no shutdown, no goodbye to PostgreSQL."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(url: str, log: Path) -> Server:
    port = _free_port()
    env = {**os.environ, "CHISO_DATABASE_URL": url, "CHISO_SCORES_FOLLOW": "1",
           "CHISO_SCORES_DEBOUNCE": "0.2", "CHISO_DASHBOARD_FOLLOW": "1",
           "CHISO_PSEUDONYM_KEY": "processes-test"}
    with log.open("wb") as out:
        proc = subprocess.Popen([CHISO, "serve", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Server(f"http://127.0.0.1:{port}", proc, log, libpq_url(make_engine(url)))


def _wait(what: str, check: Callable[[], bool], seconds: float, servers: list[Server]) -> float:
    start = time.monotonic()
    while not check():
        for s in servers:
            assert s.proc.poll() is None, f"{s.url} stopped:\n{s.log.read_text()[-3000:]}"
        assert time.monotonic() - start < seconds, f"{what}: not within {seconds:g} s"
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def pair(pg_databases: Callable[[str], str], catalog: Catalog,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, str]]:
    url = pg_databases("processes")
    rt = prepared_runtime(url, catalog)  # migrated and loaded, as `chiso serve` finds it
    token = add_source(rt.engine, "dvc-live", ["tthc.dossier"], None)
    rt.engine.dispose()
    logs = tmp_path_factory.mktemp("servers")
    servers = [_start(url, logs / "a.log"), _start(url, logs / "b.log")]
    try:
        _wait("both servers answer", lambda: all(s.health() for s in servers), 180, servers)
        yield servers[0], servers[1], token
    finally:
        for s in servers:
            s.kill()


def _tile(server: Server, tile: str) -> float:
    board = httpx.get(server.url + "/api/v1/dashboard", timeout=10).json()
    for group in board["groups"]:
        for t in group["tiles"]:
            if t["id"] == tile:
                return float(t["value"] or 0)
    raise AssertionError(f"no tile {tile}")


def test_a_record_pushed_to_one_process_reaches_the_others_stream_and_board(
        pair: tuple[Server, Server, str]) -> None:
    a, b, token = pair
    assert a.health()["pid"] != b.health()["pid"]  # type: ignore[index]
    # Received a minute ago as the servers' clock sees it, on a day of the month the board
    # shows (in a month's first week, the last one).
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(minutes=1)
    at = datetime.combine(opening_day(now.date()), now.time(), now.tzinfo)
    today = at.date()
    before = _tile(b, TILE)
    events: list[dict[str, object]] = []
    listening = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", b.url + "/api/v1/stream", params={"keepalive": 1},
                          headers={"Accept": "text/event-stream"},
                          timeout=httpx.Timeout(10, read=30)) as r:
            for line in r.iter_lines():
                listening.set()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if any(e.get("indicator") == "tthc.dossiers_received" for e in events):
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert listening.wait(30)
    stamp = at.replace(microsecond=0).isoformat()
    rec = dossier(1, id="HS-CROSS-1", received_at=stamp, updated_at=stamp,
                  due_at=f"{today + timedelta(days=7)}T17:00:00+07:00")
    r = httpx.post(a.url + "/api/v1/feeds/tthc.dossier/records", json=[rec],
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    reader.join(30)
    received = [e for e in events if e.get("indicator") == "tthc.dossiers_received"]
    assert received, f"server B's stream carried no value of the record; got {events}"
    assert received[0]["period"] == today.isoformat()
    assert received[0]["unit"] == "00070"
    # Each process recomputes its own board from the stream, on its own schedule.
    _wait("B's board shows the record", lambda: _tile(b, TILE) == before + 1, 60, [a, b])
    _wait("A's board shows the record", lambda: _tile(a, TILE) == before + 1, 60, [a, b])


def test_single_run_work_is_held_once_and_taken_over_when_its_process_dies(
        pair: tuple[Server, Server, str]) -> None:
    a, b, _ = pair

    def held() -> dict[str, set[str]]:
        return {s.url: s.held() for s in (a, b)}

    _wait("every single-run work held", lambda: set().union(*held().values()) == SINGLE_RUN,
          30, [a, b])
    runs = held()
    assert not runs[a.url] & runs[b.url], f"held twice: {runs}"
    # Serving processes answer requests only; the work runs in the work processes, niced.
    assert a.health()["runs"] == b.health()["runs"] == []  # type: ignore[index]
    for server in (a, b):
        work = server.work_process()
        assert work is not None, f"{server.url} has no work process"
        assert os.getpriority(os.PRIO_PROCESS, work) == 10
    holder, other = (a, b) if "scores" in runs[a.url] else (b, a)
    # A work process killed alone is started again by its server (and the work it held
    # goes to whichever work process takes the locks first).
    first = holder.work_process()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    _wait("the server starts its work process again",
          lambda: holder.work_process() not in (None, first), 15, [holder, other])
    _wait("every single-run work held again",
          lambda: set().union(*held().values()) == SINGLE_RUN, 30, [a, b])
    holder, other = (a, b) if "scores" in a.held() else (b, a)
    holder.kill()
    took = _wait("the other server takes over", lambda: other.held() == SINGLE_RUN, 15,
                 [other])
    assert took < 15
    print(f"single-run work taken over {took:.1f} s after SIGKILL of its holder")
