"""Pull sources the operator manages: kept with sealed credentials, run by the service against a
real simulated dossier system, with their last run, lag, errors and outages; on both
databases."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.factories import bearer, uid, user_with_token

from chiso.clock import VIETNAM
from chiso.context import Clock, Runtime
from chiso.intake import pull_sources as ps
from chiso.intake.settings import IntakeSettings
from chiso.outlook import alerts as alerts_module
from chiso.outlook.alerts import run_alerts
from chiso.runtime import create_app
from chiso.store.tables import FEED_TABLES, alerts, audit_log, pull_sources
from chiso_sim.hanoi import dossier_stream
from chiso_sim.servers import PullSource, ServerThread, pull_app

SETTINGS = IntakeSettings(env="test")
SECRET = "s3cr3t-" + "x" * 20
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=VIETNAM)  # the runtime's clock speaks Vietnam


def _records(seed: int, n: int) -> list[dict[str, object]]:
    return list(itertools.islice(dossier_stream(seed, date(2026, 10, 1), 2), n))


def _stored(rt: Runtime, source: str) -> int:
    table = FEED_TABLES["tthc.dossier"][0]
    with rt.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(
            table.c.source == source)).scalar_one())


def _spec(url: str, source: str, **kw: object) -> ps.PullSourceSpec:
    return ps.PullSourceSpec(feed="tthc.dossier", source=source, base_url=url,
                             page_size=100, interval_seconds=60, **kw)  # type: ignore[arg-type]


def test_a_source_runs_with_its_sealed_credentials_and_records_outages(
        fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    records = _records(5, 450)
    sim = PullSource(records, require=("X-Api-Key", SECRET))
    name, source = uid("dvc"), uid("src")
    clock = [NOW]
    with ServerThread(pull_app(sim)) as server:
        saved = ps.save(rt.engine, rt.catalog, SETTINGS, name, _spec(server.url, source),
                        {"X-Api-Key": SECRET}, by="op", now=NOW)
        assert saved.credential_names == ["X-Api-Key"]
        assert SECRET not in saved.model_dump_json()
        with rt.engine.connect() as conn:  # sealed at rest
            kept = conn.execute(select(pull_sources.c.credentials)).scalar_one()
        assert SECRET.encode() not in kept

        ran = _run_due(rt, lambda: clock[0])
        assert ran[name].error is None
        assert ran[name].records == len(records)
        assert _stored(rt, source) == len({r["id"] for r in records})
        with rt.engine.connect() as conn:
            view = ps.one(conn, name, NOW + timedelta(minutes=5))
        assert view is not None
        assert view.last_drained_at == NOW
        assert view.lag_seconds == 300
        assert view.records == len(records)
        assert not view.failing
        assert view.outages == 0

        assert _run_due(rt, lambda: clock[0] + timedelta(seconds=30)) == {}  # not due yet

        # The source goes down: the run fails (after the connector's bounded retries, a few
        # seconds), an outage opens and says why.
        sim.down_until = time.monotonic() + 3600
        clock[0] = NOW + timedelta(minutes=2)
        down = ps.PullSourceSpec(**{**_spec(server.url, source).model_dump(),
                                    "interval_seconds": 5})
        ps.save(rt.engine, rt.catalog, SETTINGS, name, down, None, by="op", now=clock[0])
        ran = _run_due(rt, lambda: clock[0])
        assert ran[name].error is not None
        with rt.engine.connect() as conn:
            view = ps.one(conn, name, clock[0])
        assert view is not None
        assert view.failing
        assert view.failing_since == clock[0]
        assert view.outages == 1
        assert view.last_error
        assert "503" in view.last_error
        assert SECRET not in view.model_dump_json()

        # Back up with more records: the outage closes, nothing lost or doubled.
        sim.down_until = 0
        sim.records.extend(_records(6, 120))
        clock[0] = NOW + timedelta(minutes=3)
        ran = _run_due(rt, lambda: clock[0])
        assert ran[name].error is None
        assert ran[name].records == 120
        with rt.engine.connect() as conn:
            view = ps.one(conn, name, clock[0])
        assert view is not None
        assert not view.failing
        assert view.outages == 1
        assert view.last_recovered_at == clock[0]
        assert _stored(rt, source) == len({r["id"] for r in sim.records})

        # Paused: not run however long it waits; the credentials stay kept.
        ps.set_paused(rt.engine, name, True, by="op", now=clock[0])
        assert ps.due(rt.engine, clock[0] + timedelta(days=1)) == []

        # Wrong credentials: the source refuses (401), recorded as an outage, not retried.
        ps.save(rt.engine, rt.catalog, SETTINGS, name, _spec(server.url, source),
                {"X-Api-Key": "wrong-" + "y" * 20}, by="op", now=clock[0])
        ran = _run_due(rt, lambda: clock[0] + timedelta(days=1))
        assert "401" in (ran[name].error or "")


def _run_due(rt: Runtime, now: object) -> dict[str, ps.RunResult]:
    """``run_due`` on a thread of its own: the tests' main thread keeps Playwright's loop."""
    import asyncio

    out: dict[str, ps.RunResult] = {}

    def run() -> None:
        out.update(asyncio.run(ps.run_due(rt.engine, rt.catalog, SETTINGS, now)))  # type: ignore[arg-type]

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=180)
    return out


@pytest.mark.parametrize(("field", "change", "words"), [
    ("feed", {"feed": "no.such"}, "is not a feed"),
    ("base_url", {"base_url": "https://u:p@example.org"}, "no user name or password"),
    ("base_url", {"base_url": "ftp://example.org"}, "http:// or https://"),
    ("path", {"path": "api"}, "starts with '/'"),
    ("interval_seconds", {"interval_seconds": 1}, "between 5"),
    ("page_size", {"page_size": 0}, "between 1"),
])
def test_a_source_chiso_cannot_keep_is_refused_naming_the_field(
        fresh_runtime: Runtime, field: str, change: dict[str, object], words: str) -> None:
    rt = fresh_runtime
    spec = ps.PullSourceSpec(**{**_spec("http://127.0.0.1:9", "src").model_dump(), **change})
    with pytest.raises(ps.PullSourceError) as refused:
        ps.save(rt.engine, rt.catalog, SETTINGS, "dvc", spec, None, by="op", now=NOW)
    assert refused.value.field == field
    assert words in str(refused.value)
    with rt.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pull_sources)).scalar_one() == 0


def test_operators_manage_sources_over_the_api_and_never_see_a_credential_again(
        fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    _, op = user_with_token(rt.engine, "operator")
    _, viewer = user_with_token(rt.engine, "viewer")
    body = {"feed": "tthc.dossier", "source": "dvc-hn", "base_url": "http://127.0.0.1:9",
            "credentials": {"Authorization": f"Bearer {SECRET}"}}
    with TestClient(create_app(rt.settings, rt)) as client:
        assert client.put("/api/v1/pull-sources/dvc", json=body,
                          headers=bearer(viewer)).status_code == 403
        made = client.put("/api/v1/pull-sources/dvc", json=body, headers=bearer(op))
        assert made.status_code == 200, made.text
        assert made.json()["credential_names"] == ["Authorization"]
        bad = client.put("/api/v1/pull-sources/dvc", json={**body, "feed": "nope"},
                         headers=bearer(op))
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("feed:")
        # Changing the schedule keeps the credentials; pausing and resuming.
        moved = client.put("/api/v1/pull-sources/dvc", headers=bearer(op),
                           json={k: v for k, v in body.items() if k != "credentials"}
                           | {"interval_seconds": 300})
        assert moved.json()["interval_seconds"] == 300
        assert moved.json()["credential_names"] == ["Authorization"]
        # the sealed credentials never follow the source to another server
        elsewhere = client.put("/api/v1/pull-sources/dvc", headers=bearer(op),
                               json={k: v for k, v in body.items() if k != "credentials"}
                               | {"base_url": "http://127.0.0.2:9"})
        assert elsewhere.status_code == 422
        assert elsewhere.json()["detail"].startswith("credentials:")
        for metadata in ("http://169.254.169.254", "http://2852039166", "http://0xa9fea9fe",
                         "http://[fe80::1]", "http://0.0.0.0"):
            bad = client.put("/api/v1/pull-sources/dvc", headers=bearer(op),
                             json={**body, "base_url": metadata})
            assert bad.status_code == 422, metadata
            assert bad.json()["detail"].startswith("base_url:"), metadata
        assert client.post("/api/v1/pull-sources/dvc/pause",
                           headers=bearer(op)).json()["paused"] is True
        listed = client.get("/api/v1/pull-sources", headers=bearer(op))
        assert [s["name"] for s in listed.json()["sources"]] == ["dvc"]
        page = client.get("/admin/pull-sources", headers=bearer(op))
        assert page.status_code == 200
        assert 'data-state="paused"' in page.text
        assert client.post("/api/v1/pull-sources/nope/pause",
                           headers=bearer(op)).status_code == 404
        answers = listed.text + page.text + made.text + moved.text
    assert SECRET not in answers
    with rt.engine.connect() as conn:
        logged = " ".join(str(r.detail) + str(r.target) for r in conn.execute(
            select(audit_log.c.detail, audit_log.c.target)))
    assert "pull_sources" in logged
    assert SECRET not in logged


def test_the_running_service_pulls_its_sources_by_itself(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    records = _records(9, 300)
    sim = PullSource(records)
    source = uid("src")
    settings = rt.settings.model_copy(update={"pull_sources_run": True,
                                              "pull_sources_poll": 0.2})
    with ServerThread(pull_app(sim)) as server:
        ps.save(rt.engine, rt.catalog, SETTINGS, "dvc", _spec(server.url, source), None,
                by="op", now=datetime.now(UTC))
        app = create_app(settings, rt)
        with ServerThread(app, lifespan="on") as chiso:
            deadline = time.monotonic() + 60
            while _stored(rt, source) < len({r["id"] for r in records}):
                assert time.monotonic() < deadline, "the service did not pull the source"
                time.sleep(0.2)
            assert "pull-sources" in rt.running
            _, op = user_with_token(rt.engine, "operator")
            seen = httpx.get(f"{chiso.url}/api/v1/pull-sources/dvc", headers=bearer(op),
                             timeout=10).json()
    assert seen["last_run_at"] is not None
    assert seen["records"] == len(records)


def test_the_running_service_raises_alerts_by_itself(fresh_runtime: Runtime,
                                                     tmp_path: Path) -> None:
    """No cron: the service runs ``chiso alerts run``'s work as of its clock's day (for one
    unit here: the city's every unit takes minutes)."""
    rt = fresh_runtime
    rt.clock = Clock(fixed=NOW)
    rules = tmp_path / "rules.yaml"
    rules.write_text((Path(alerts_module.__file__).parent.parent / "data" / "alerts" /
                      "rules.yaml").read_text().replace("units: []", "units: [SKHCN]"))
    settings = rt.settings.model_copy(update={"alerts_run": True, "alert_rules": rules})
    rt.settings = settings
    with ServerThread(create_app(settings, rt), lifespan="on"):
        deadline = time.monotonic() + 120
        while _alerts(rt) == 0:
            assert time.monotonic() < deadline, "the service raised no alert"
            time.sleep(0.5)
        assert "alerts" in rt.running
    # What the service raised is what a run for that day finds: a second run adds nothing.
    again = run_alerts(rt.engine, rt.settings, NOW.date(), rt.catalog)
    assert again["raised"] == 0
    assert again["candidates"] == _alerts(rt)


def _alerts(rt: Runtime) -> int:
    with rt.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(alerts).where(
            alerts.c.superseded.is_(False))).scalar_one())
