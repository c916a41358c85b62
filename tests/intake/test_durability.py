"""Durability: the server is SIGKILLed again and again while a simulator pushes and retries
unacknowledged batches; afterwards every acknowledged record is present exactly once and
re-sending everything changes no count. On PostgreSQL, also across a database restart."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from chiso.intake.sources import add_source
from chiso.store.tables import feed_tthc_dossier, feed_tthc_dossier_versions
from chiso_sim.hanoi import dossier_stream
from chiso_sim.servers import Pusher, free_port

CHISO = str(Path(sys.executable).parent / "chiso")


class Server:
    """``chiso serve`` as a real process that can be killed and restarted."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "CHISO_DATABASE_URL": url, "CHISO_PSEUDONYM_KEY": "durable"}
        self.log = (tmp / "server.log").open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([CHISO, "serve", "--port", str(self.port)], env=self.env,
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/feeds", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError("chiso serve did not come up")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self.log.close()


@pytest.fixture
def server(fresh_engine: Engine, tmp_path: Path) -> Iterator[Server]:
    srv = Server(fresh_engine.url.render_as_string(hide_password=False), tmp_path)
    srv.start()
    yield srv
    srv.stop()


def _counts(engine: Engine, source: str) -> tuple[int, int]:
    with engine.connect() as conn:
        v = conn.execute(select(func.count()).select_from(feed_tthc_dossier_versions).where(
            feed_tthc_dossier_versions.c.source == source)).scalar_one()
        latest = conn.execute(select(func.count()).select_from(feed_tthc_dossier).where(
            feed_tthc_dossier.c.source == source)).scalar_one()
    return int(v), int(latest)


def _restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart",
                    "-m", "fast"], check=True, capture_output=True)


def _hammer(server: Server, engine: Engine, kills: int, backend: str, pg_restart: bool,
            records_n: int) -> None:
    token = add_source(engine, "dvc-durable", ["tthc.dossier"], None)
    records = list(itertools.islice(dossier_stream(99, date(2026, 9, 7), 3), records_n))
    pusher = Pusher(server.url, token, "tthc.dossier", timeout=3.0)
    thread = pusher.start(records, batch_size=100)
    rng = random.Random(1)
    for n in range(kills):
        time.sleep(rng.uniform(0.2, 0.6))
        server.kill()
        if pg_restart and backend == "postgresql" and n == kills // 2:
            _restart_postgres()
        server.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the pusher did not finish"
    assert not pusher.refused
    acked = [r for batch in pusher.acked for r in batch]
    assert len(acked) == len(records)  # every batch was eventually acknowledged
    assert pusher.failures > 0  # the kills did interrupt it
    expected = (len({(r["id"], r["updated_at"]) for r in acked}), len({r["id"] for r in acked}))
    assert _counts(engine, "dvc-durable") == expected
    resend = Pusher(server.url, token, "tthc.dossier")
    resend.run(records, batch_size=500)
    assert _counts(engine, "dvc-durable") == expected
    assert len(resend.acked) == -(-len(records) // 500)


def test_killed_server_loses_nothing_acknowledged(server: Server, fresh_engine: Engine,
                                                  backend: str) -> None:
    _hammer(server, fresh_engine, kills=3, backend=backend, pg_restart=False, records_n=2500)


@pytest.mark.slow
def test_twenty_sigkills_and_a_postgres_restart(server: Server, fresh_engine: Engine,
                                                backend: str) -> None:
    _hammer(server, fresh_engine, kills=20, backend=backend, pg_restart=True, records_n=12000)
