"""Simulated source systems as real HTTP services feeding chiso through its doors."""

from __future__ import annotations

import itertools
from datetime import date

import httpx
import pytest
from sqlalchemy import Engine, func, select
from tests.factories import feed_contract, uid

from chiso.catalog.loader import Catalog
from chiso.intake.pull import Connector, PullRunner, get_cursor
from chiso.intake.settings import IntakeSettings
from chiso.intake.validate import Scope, validate_batch
from chiso.store.tables import FEED_TABLES, intake_cursors
from chiso_sim.hanoi import (
    document_versions,
    dossier_stream,
    feedback_versions,
    is_working_day,
    meeting_versions,
    profiles,
    stats_values,
)
from chiso_sim.servers import PullSource, Pusher, ServerThread, pull_app

SETTINGS = IntakeSettings(pseudonym_key="sim-key")  # type: ignore[arg-type]


def test_generators_are_deterministic_realistic_and_valid(catalog: Catalog) -> None:
    a = list(itertools.islice(dossier_stream(7, date(2026, 3, 2), 3), 3000))
    b = list(itertools.islice(dossier_stream(7, date(2026, 3, 2), 3), 3000))
    assert a == b
    assert a != list(itertools.islice(dossier_stream(8, date(2026, 3, 2), 3), 3000))
    units = frozenset(catalog.units.units)
    assert {p.code for p in profiles(7)} <= units
    assert len([p for p in profiles(7) if p.kind == "commune"]) == 126
    assert {p.behaviour for p in profiles(7)} == {"prompt", "late", "silent"}
    by_id: dict[str, list[str]] = {}
    for v in a:
        by_id.setdefault(v["id"], []).append(v["status"])
    assert max(len(s) for s in by_id.values()) >= 4  # re-sent at each status change
    assert not is_working_day(date(2026, 2, 17))  # Tết
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert list(dossier_stream(7, date(2026, 2, 16), 5)) == []  # Tết week: nothing
    for feed, records in [
        ("tthc.dossier", a),
        ("ihanoi.feedback", list(itertools.islice(feedback_versions(7, date(2026, 3, 2), 2),
                                                  500))),
        ("eoffice.document", list(itertools.islice(document_versions(7, date(2026, 3, 2), 2),
                                                   500))),
        ("meetings.meeting", list(itertools.islice(meeting_versions(7, date(2026, 3, 2), 2),
                                                   500))),
        ("stats.value", list(itertools.islice(stats_values(7), 500))),
    ]:
        result = validate_batch(feed_contract(feed), records, scope=Scope(known_units=units))
        assert result.ok, (feed, [str(p) for p in result.problems[:5]])


def test_late_and_silent_units_behave_so() -> None:
    from chiso_sim.hanoi import LATE_DAYS, SILENT_DAYS

    start = date(2026, 3, 2)
    prof = profiles(7)
    late = next(p.code for p in prof if p.behaviour == "late" and p.kind == "commune")
    silent = next(p.code for p in prof if p.behaviour == "silent")
    prompt = next(p.code for p in prof if p.behaviour == "prompt" and p.kind == "commune")
    stream = list(dossier_stream(7, start, 60, scale=0.2, units=[late, silent, prompt]))
    first = {u: next(i for i, v in enumerate(stream) if v["unit"] == u) for u in (late, prompt)}
    assert first[late] > first[prompt]  # the late unit's first day arrives days later
    position = {v["id"]: i for i, v in enumerate(stream)}
    late_day1 = [position[v["id"]] for v in stream if v["unit"] == late
                 and v["received_at"].startswith("2026-03-02")]
    before = [position[v["id"]] for v in stream if v["unit"] == prompt
              and v["received_at"].startswith(f"2026-03-0{1 + LATE_DAYS}")]
    assert before  # the prompt unit sent its records of the day before
    assert min(late_day1) > max(before)  # … and only then the late unit its first day's
    silent_days = sorted({v["received_at"][:10] for v in stream if v["unit"] == silent})
    gaps = [(date.fromisoformat(b) - date.fromisoformat(a)).days
            for a, b in itertools.pairwise(silent_days)]
    assert max(gaps) >= SILENT_DAYS - 1


def _count(engine: Engine, feed: str, source: str, versions: bool = False) -> int:
    table = FEED_TABLES[feed][1 if versions else 0]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)
                                .where(table.c.source == source)).scalar_one())


def test_pull_connector_survives_failures_and_outage_without_gaps_or_dupes(
    engine: Engine, catalog: Catalog
) -> None:
    records = list(itertools.islice(dossier_stream(3, date(2026, 4, 1), 2), 1200))
    sim = PullSource(records)
    name, source = uid("pull"), uid("dvc")
    connector = Connector(name, "tthc.dossier", source, "", page_size=100,
                          max_attempts=4, max_retry_seconds=5)
    with ServerThread(pull_app(sim)) as server:
        connector.base_url = server.url
        runner = PullRunner(engine, connector, catalog, SETTINGS)
        first = runner.run_once(max_pages=3)
        assert (first.pages, first.records) == (3, 300)
        sim.fail_next = 2  # two 500s: retried with back-off, then fine
        second = runner.run_once(max_pages=2)
        assert second.error is None
        assert second.records == 200
        httpx.post(f"{server.url}/control", json={"down_seconds": 30})
        down = runner.run_once()
        assert down.error is not None
        assert "503" in down.error
        with engine.connect() as conn:
            row = conn.execute(select(intake_cursors).where(
                intake_cursors.c.connector == name)).one()
        assert row.cursor == "500"
        assert row.last_error
        sim.down_until = 0  # back up: a new runner (as after a restart) resumes at 500
        rest = PullRunner(engine, connector, catalog, SETTINGS).run_once()
        assert rest.error is None
        assert rest.records == 700
    assert get_cursor(engine, name) == "1200"
    assert _count(engine, "tthc.dossier", source, versions=True) == len(
        {(r["id"], r["updated_at"]) for r in records})
    assert _count(engine, "tthc.dossier", source) == len({r["id"] for r in records})


def test_updated_since_paging(engine: Engine, catalog: Catalog) -> None:
    records = sorted(itertools.islice(feedback_versions(5, date(2026, 5, 4), 1), 300),
                     key=lambda r: r["updated_at"])

    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/feedback")
    def feedback(limit: int, updated_since: str | None = None) -> dict[str, object]:
        page = [r for r in records if updated_since is None or r["updated_at"] >= updated_since]
        return {"records": page[:limit]}

    source = uid("ihanoi")
    with ServerThread(app) as server:
        connector = Connector(uid("pull"), "ihanoi.feedback", source, server.url,
                              path="/feedback", paging="updated_since", page_size=50)
        result = PullRunner(engine, connector, catalog,
                            SETTINGS).run_once(max_pages=100)
    assert result.error is None
    assert _count(engine, "ihanoi.feedback", source, versions=True) == len(
        {(r["id"], r["updated_at"]) for r in records})


@pytest.mark.parametrize("ndjson", [False, True])
def test_push_simulator_through_a_real_server(
    live_server: str, engine: Engine, ndjson: bool
) -> None:
    from chiso.intake.sources import add_source

    source = uid("dvc")
    token = add_source(engine, source, ["tthc.dossier"], None)
    records = list(itertools.islice(dossier_stream(11, date(2026, 6, 1), 1), 900))
    pusher = Pusher(live_server, token, "tthc.dossier", ndjson=ndjson)
    pusher.run(records, batch_size=300)
    assert not pusher.refused
    assert sum(len(b) for b in pusher.acked) == 900
    assert _count(engine, "tthc.dossier", source, versions=True) == len(
        {(r["id"], r["updated_at"]) for r in records})
