"""Several server processes, one truth (docs/scaling.md): two real ``chiso serve`` processes
on one PostgreSQL database. A record pushed to one appears in the other's change stream and
dashboard board; the single-run work is held by exactly one of them, and when that process is
killed (SIGKILL) the other takes it over within seconds. SQLite serves one process: PostgreSQL
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
import pytest
from tests.conftest import prepared_runtime
from tests.factories import dossier

from chiso.catalog.loader import Catalog
from chiso.dashboard.board import opening_day
from chiso.intake.sources import add_source

CHISO = shutil.which("chiso") or str(Path(sys.executable).parent / "chiso")
SINGLE_RUN = {"scores", "audit-checkpoint", "change-stream-prune"}
TILE = "ho-so-tiep-nhan"  # dossiers received this month, from tthc.dossiers_received


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

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
    return Server(f"http://127.0.0.1:{port}", proc, log)


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
        return {s.url: set(s.health()["runs"]) for s in (a, b)}  # type: ignore[index, arg-type]

    _wait("every single-run work held", lambda: set().union(*held().values()) == SINGLE_RUN,
          30, [a, b])
    runs = held()
    assert not runs[a.url] & runs[b.url], f"held twice: {runs}"
    holder, other = (a, b) if "scores" in runs[a.url] else (b, a)
    holder.kill()
    took = _wait("the other process takes over", lambda: held_by(other) == SINGLE_RUN, 15,
                 [other])
    assert took < 15
    print(f"single-run work taken over {took:.1f} s after SIGKILL of its holder")


def held_by(server: Server) -> set[str]:
    health = server.health()
    return set(health["runs"]) if health else set()  # type: ignore[arg-type]
