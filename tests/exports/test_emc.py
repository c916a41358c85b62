"""The EMC exporter on both databases: the documented payload from the typed answers, a new
content version only when a figure changes, and, end to end, every version delivered to the
simulated EMC (a real HTTP server on loopback) exactly once while it fails at random, goes
down, answers too slowly and loses acknowledgements, and while the worker process is killed
(SIGKILL) and started again. Also the operators' API and the ``chiso export`` commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.conftest import role_headers
from tests.exports.emc_support import BA_DINH, HOAN_KIEM, send

from chiso.config import Exporter
from chiso.context import Runtime
from chiso.exports import exporters
from chiso.runtime import create_app
from chiso.store import outbox
from chiso_sim.receiver import Faults, Receiver, receiver_app
from chiso_sim.servers import ServerThread

SECRET = "emc-shared-secret-0123456789"
TODAY = date(2026, 4, 10)
NOW = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)




def exporter(url: str, units: list[str] | None = None) -> Exporter:
    return Exporter(name="emc", url=url, secret=SECRET, units=units or ["UBNDTP", HOAN_KIEM],
                    indicators=["tthc.on_time_rate"])


@pytest.fixture
def emc_server() -> Iterator[tuple[Receiver, str]]:
    rx = Receiver(SECRET)
    with ServerThread(receiver_app(rx)) as server:
        yield rx, server.url


def test_the_payload_and_a_new_version_only_when_a_figure_changes(
        fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    send(rt.engine, HOAN_KIEM, range(10), on_time=True)
    send(rt.engine, BA_DINH, range(10), on_time=False)
    ex = exporter("http://127.0.0.1:9/emc")
    first = exporters.export(rt, ex, "2026-03", TODAY, NOW)
    assert [(s.unit, s.version) for s in first] == [(HOAN_KIEM, 1), ("UBNDTP", 1)]
    with rt.engine.connect() as conn:
        city = next(m for m in outbox.messages(conn) if "UBNDTP" in m.idempotency_key)
    body = json.loads(city.body)
    assert city.idempotency_key == "emc:2026-03:UBNDTP:v1"
    assert city.event == "emc.report"
    assert city.channel == "export:emc"
    assert body["schema"] == "chiso.emc/1"
    assert body["version"] == 1
    assert body["period"] == {"code": "2026-03", "kind": "month", "start": "2026-03-01",
                              "end": "2026-03-31"}
    assert body["unit"]["code"] == "UBNDTP"
    assert body["unit"]["kind"] == "city"
    (ind,) = body["indicators"]
    assert (ind["indicator"], ind["value"], ind["numerator"], ind["denominator"]) == (
        "tthc.on_time_rate", 50.0, 10.0, 20.0)
    assert ind["feeds"] == ["tthc.dossier"]
    assert ind["as_of"].endswith("+00:00")
    assert body["catalog_version"] == rt.catalog.digest

    assert exporters.export(rt, ex, "2026-03", TODAY, NOW) == []  # nothing changed: nothing sent
    send(rt.engine, HOAN_KIEM, range(100, 110), on_time=False)  # late records for March
    again = exporters.export(rt, ex, "2026-03", TODAY, NOW)
    assert [(s.unit, s.version) for s in again] == [(HOAN_KIEM, 2), ("UBNDTP", 2)]
    with rt.engine.connect() as conn:
        newest = json.loads(outbox.messages(conn, channel="export:emc")[0].body)
        assert [(v.unit, v.version) for v in exporters.versions(conn)][:2] == [
            ("UBNDTP", 2), (HOAN_KIEM, 2)]
    assert newest["indicators"][0]["value"] == pytest.approx(100 * 10 / 30)  # city: 10 of 30


def test_a_period_that_is_not_one_and_an_unknown_exporter(fresh_runtime: Runtime) -> None:
    with pytest.raises(exporters.ExportError, match="period 'March'"):
        exporters.export(fresh_runtime, exporter("http://x"), "March", TODAY)
    with pytest.raises(exporters.ExportError, match="exporter 'nope' is not configured"):
        exporters.export_all(fresh_runtime, TODAY, ["2026-03"], ["nope"])


def _worker(rt: Runtime, base: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHISO_DATABASE_URL": rt.settings.database_url,
           "CHISO_OUTBOX_POLL": "0.1", "CHISO_OUTBOX_TIMEOUT": "1",
           "CHISO_OUTBOX_BACKOFF_INITIAL": "0.2", "CHISO_OUTBOX_BACKOFF_MAX": "1",
           "CHISO_OUTBOX_MAX_ATTEMPTS": "100",
           "CHISO_EXPORTERS": json.dumps([exporter(base + "/emc").model_dump()])}
    # The worker signs with the configured secret; the URL is each message's own.
    with log.open("ab") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(Path(sys.executable).parent / "chiso"), "outbox", "run"],
                                env=env, stdout=subprocess.DEVNULL, stderr=err)


def _until(predicate: Any, seconds: float, what: str, why: Any = str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what} {why()}"
        time.sleep(0.05)


def _control(base: str, **faults: Any) -> None:
    httpx.post(base + "/control", json=Faults(**faults).model_dump()).raise_for_status()


def test_every_version_reaches_the_emc_once_through_faults_and_a_killed_worker(
        fresh_runtime: Runtime, emc_server: tuple[Receiver, str], tmp_path: Path) -> None:
    rt = fresh_runtime
    rx, base = emc_server
    log = tmp_path / "worker.log"
    ex = exporter(base + "/emc", units=["UBNDTP", HOAN_KIEM, BA_DINH])
    for month in (1, 2, 3):
        send(rt.engine, HOAN_KIEM, range(month * 100, month * 100 + 10), True, month)
        send(rt.engine, BA_DINH, range(month * 100, month * 100 + 10), False, month)
    written = [s for p in ("2026-01", "2026-02", "2026-03", "2026-Q1")
               for s in exporters.export(rt, ex, p, TODAY, NOW)]
    assert len(written) == 12  # 4 periods × (2 units + the city)

    _control(base, fail_rate=0.3, seed=3, lose_ack_next=2)
    worker = _worker(rt, base, log)
    try:
        _until(lambda: rx.state()["applied"] >= 4, 180, "four versions applied; the worker "
               "said:", lambda: log.read_text(errors="replace")[-2000:])
        _control(base, delay_seconds=3)  # slower than the worker waits: it times out
        _until(lambda: rx.state()["applied"] >= 5, 120, "a fifth applied, its answer late")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        # Corrected figures while the worker is down: new versions, never silently nothing.
        send(rt.engine, HOAN_KIEM, range(350, 360), on_time=False)
        corrected = exporters.export(rt, ex, "2026-03", TODAY, NOW)
        assert sorted((s.unit, s.version) for s in corrected) == [(HOAN_KIEM, 2), ("UBNDTP", 2)]
        _control(base, down_seconds=2)  # down for a while when the new worker starts
        worker = _worker(rt, base, log)

        def settled() -> bool:
            with rt.engine.connect() as conn:
                return not outbox.messages(conn, state=outbox.PENDING)
        _until(settled, 180, "every version delivered; the workers said:",
               lambda: log.read_text(errors="replace")[-2000:])
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    state = rx.state()
    keys = {f"emc:{s.period}:{s.unit}:v{s.version}" for s in written + corrected}
    assert len(state["order"]) == len(keys) == 14
    assert set(state["order"]) == keys  # every version applied, each exactly once
    assert state["duplicates"] >= 1
    assert state["failed"] >= 1
    latest = rx.applied["emc:2026-03:UBNDTP:v2"]
    assert latest["version"] == 2
    assert latest["indicators"][0]["value"] == pytest.approx(100 * 10 / 30)
    with rt.engine.connect() as conn:
        (status,) = outbox.status(conn, "export:")
        outcomes = {a.outcome for a in outbox.attempts(conn, limit=10_000)}
    assert (status.pending, status.delivered, status.dead) == (0, 14, 0)
    assert {"ok", "failed"} <= outcomes
    assert "sending" not in outcomes
    # The delivery log as an operator reads it (`pytest -s` shows it: the closing evidence).
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "chiso"), "outbox", "log", "-c", "export:emc"],
        env={**os.environ, "CHISO_ENV": "test", "CHISO_DATABASE_URL": rt.settings.database_url},
        capture_output=True, text=True, timeout=120, check=True).stdout
    print(f"\n-- the exporter's delivery log after the fault test --\n{shown}")
    assert all(f"{k} -> delivered" in shown for k in keys)
    assert " failed HTTP 5" in shown
    assert shown.count(" ok HTTP 200") == 14


def test_operators_see_the_backlog_and_requeue_dead_letters(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    send(rt.engine, HOAN_KIEM, range(10), on_time=True)
    exporters.export(rt, exporter("http://127.0.0.1:9/emc"), "2026-03", TODAY, NOW)
    with rt.engine.begin() as conn:
        first = outbox.messages(conn)[-1]
        conn.execute(outbox.outbox_messages.update()
                     .where(outbox.outbox_messages.c.id == first.id)
                     .values(state=outbox.DEAD, last_error="HTTP 500"))
    with TestClient(create_app(rt.settings, rt)) as client:
        op = role_headers(rt.engine, "operator")
        viewer = role_headers(rt.engine, "viewer")
        assert client.get("/api/v1/outbox", headers=viewer).status_code == 403
        (channel,) = client.get("/api/v1/outbox", headers=op).json()
        assert (channel["channel"], channel["pending"], channel["dead"]) == ("export:emc", 1, 1)
        dead = client.get("/api/v1/outbox/messages", params={"state": "dead"}, headers=op)
        assert [m["id"] for m in dead.json()] == [first.id]
        assert client.get(f"/api/v1/outbox/messages/{first.id}/attempts",
                          headers=op).json() == []
        assert client.get("/api/v1/outbox/messages/999999/attempts",
                          headers=op).status_code == 404
        assert client.post(f"/api/v1/outbox/messages/{first.id}/retry",
                           headers=op).status_code == 200
        again = client.post(f"/api/v1/outbox/messages/{first.id}/retry", headers=op)
        assert again.status_code == 409
        assert "not dead" in again.json()["detail"]
        got = client.get("/api/v1/exports/versions", headers=op).json()
        assert {(v["unit"], v["version"], v["state"]) for v in got} == {
            ("UBNDTP", 1, "pending"), (HOAN_KIEM, 1, "pending")}


def test_the_export_commands(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    send(rt.engine, HOAN_KIEM, range(10), on_time=True)
    chiso = str(Path(sys.executable).parent / "chiso")
    env = {**os.environ, "CHISO_DATABASE_URL": rt.settings.database_url,
           "CHISO_EXPORTERS": json.dumps([exporter("http://127.0.0.1:9/emc").model_dump()])}
    run = subprocess.run([chiso, "export", "run", "-p", "2026-03", "--date", "2026-04-10"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "emc 2026-03 UBNDTP v1" in run.stdout
    assert "2 new versions" in run.stdout
    status = subprocess.run([chiso, "export", "status"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert status.returncode == 0, status.stderr
    assert "emc" in status.stdout
    assert "pending" in status.stdout
    bad = subprocess.run([chiso, "export", "run", "-e", "nope"], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert "exporter 'nope' is not configured" in bad.stderr
