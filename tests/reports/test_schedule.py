"""Reports built on schedule: the last period of each kind falls due when it ends (opened)
and again when its due cut-off passes (closed); two processes looking at once build each run
once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import func, insert, select, update
from tests.factories import monthly_dossier, send, send_months

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.reports import archive
from chiso.reports.schedule import Run, last_period, run_due
from chiso.store.db import make_engine
from chiso.store.tables import FEED_TABLES, intake_batches, report_runs

HOAN_KIEM = "00070"


@pytest.mark.parametrize(("kind", "today", "label"), [
    ("monthly", date(2026, 12, 5), "2026-11"),
    ("monthly", date(2027, 1, 1), "2026-12"),
    ("quarterly", date(2026, 12, 5), "2026-Q3"),
    ("quarterly", date(2027, 2, 1), "2026-Q4"),
    ("six-months", date(2026, 12, 5), "2026-H1"),
    ("six-months", date(2026, 5, 5), "2025-H2"),
    ("nine-months", date(2026, 10, 1), "2026-9M"),
    ("nine-months", date(2026, 9, 30), "2025-9M"),
    ("annual", date(2027, 1, 1), "2026"),
])
def test_the_last_period_that_ended(catalog: Catalog, kind: str, today: date,
                                    label: str) -> None:
    assert last_period(catalog.reports[kind], today) == label


def test_two_processes_build_each_run_once(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    url = rt.engine.url.render_as_string(hide_password=False)
    other = Runtime(rt.settings, make_engine(url), rt.catalog)  # a second server process
    now = datetime(2026, 12, 20, 1, tzinfo=UTC)  # past November's cut-off (20/12 in Hanoi)
    start = threading.Barrier(2)
    got: dict[str, list[Run]] = {}

    def look(name: str, runtime: Runtime) -> None:
        start.wait()
        got[name] = run_due(runtime, now, kinds=["monthly"], units=[HOAN_KIEM])

    threads = [threading.Thread(target=look, args=(n, r)) for n, r in
               (("one", rt), ("two", other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.engine.dispose()
    runs = sorted((r.stage, r.period, r.built) for rs in got.values() for r in rs)
    assert runs == [("closed", "2026-11", 1), ("opened", "2026-11", 1)]
    with rt.engine.connect() as conn:
        stored = archive.listing(conn, kind="monthly", unit=HOAN_KIEM)
        claims = conn.execute(select(func.count()).select_from(report_runs)).scalar_one()
    assert [(r.period, r.edition, r.status) for r in stored] == [("2026-11", 1, "draft")]
    assert claims == 2
    assert run_due(rt, now, kinds=["monthly"], units=[HOAN_KIEM]) == []  # done already


def test_a_claim_left_by_a_process_that_died_is_taken_over(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    now = datetime(2026, 12, 5, 1, tzinfo=UTC)  # November is open, not yet closed
    lease = timedelta(minutes=15)
    with rt.engine.begin() as conn:  # a process claimed November's run, then died
        conn.execute(insert(report_runs).values(
            kind="monthly", period="2026-11", stage="opened", claimed_by="gone:4242",
            claimed_at=now - 2 * lease, lease_until=now - lease))
    got = run_due(rt, now, kinds=["monthly"], units=[HOAN_KIEM], lease=lease)
    assert [(r.stage, r.period, r.built) for r in got] == [("opened", "2026-11", 1)]
    with rt.engine.connect() as conn:
        row = conn.execute(select(report_runs)).one()
        assert row.claimed_by != "gone:4242"
        assert row.finished_at is not None
        assert row.lease_until is not None
        assert archive.listing(conn, kind="monthly", unit=HOAN_KIEM)
    # a finished run is not taken again, however old its lease
    assert run_due(rt, now + 4 * lease, kinds=["monthly"], units=[HOAN_KIEM],
                   lease=lease) == []


def test_a_live_claim_is_left_alone(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    now = datetime(2026, 12, 5, 1, tzinfo=UTC)
    lease = timedelta(minutes=15)
    with rt.engine.begin() as conn:  # another process is building it now
        conn.execute(insert(report_runs).values(
            kind="monthly", period="2026-11", stage="opened", claimed_by="busy:1",
            claimed_at=now - timedelta(minutes=20), lease_until=now + timedelta(minutes=5)))
    assert run_due(rt, now, kinds=["monthly"], units=[HOAN_KIEM], lease=lease) == []
    with rt.engine.connect() as conn:
        assert conn.execute(select(report_runs.c.claimed_by)).scalar_one() == "busy:1"
        assert archive.listing(conn, kind="monthly", unit=HOAN_KIEM) == []
    # once its lease has passed without renewal, the next look takes it over
    later = run_due(rt, now + timedelta(minutes=6), kinds=["monthly"], units=[HOAN_KIEM],
                    lease=lease)
    assert [(r.stage, r.built) for r in later] == [("opened", 1)]


def test_a_period_no_plan_of_the_kind_covers_is_not_due(fresh_runtime: Runtime) -> None:
    """In 2026 the annual report's last period is 2025, before plan 131's year: nothing is
    claimed or built (it could not be ranked by a method in force then)."""
    now = datetime(2026, 12, 5, 3, tzinfo=UTC)
    assert run_due(fresh_runtime, now, kinds=["annual", "six-months"],
                   units=[HOAN_KIEM]) == [Run("six-months", "2026-H1", "opened", 1),
                                          Run("six-months", "2026-H1", "closed", 1)]
    with fresh_runtime.engine.connect() as conn:
        kinds = conn.execute(select(report_runs.c.kind)).scalars().all()
    assert "annual" not in kinds


def test_a_report_for_a_period_before_its_method_says_why(fresh_runtime: Runtime) -> None:
    with pytest.raises(archive.ReportError, match="no version of plan-completion in force"):
        archive.save(fresh_runtime, "annual", "2025", HOAN_KIEM, today=date(2026, 12, 5))


def _arrived_at(rt: Runtime, when: datetime) -> None:
    """Date every record and batch stored so far as received at ``when`` (the records of a
    day the test stands on; the intake stamps the clock's time)."""
    with rt.engine.begin() as conn:
        for table in FEED_TABLES["tthc.dossier"]:
            conn.execute(update(table).values(ingested_at=when))
        conn.execute(update(intake_batches).values(received_at=when))


def _draft(rt: Runtime) -> archive.StoredReport:
    with rt.engine.connect() as conn:
        stored = archive.listing(conn, kind="monthly", period="2026-11", unit=HOAN_KIEM)
    return stored[0]


def _values(rt: Runtime, report_id: int) -> dict[str, float]:
    """The targets' latest values the stored report shows."""
    with rt.engine.connect() as conn:
        data = archive.data_of(conn, report_id)
    assert data is not None
    return {t.target: t.outlook.latest.value for t in data.targets if t.outlook.latest}


def test_an_open_periods_drafts_follow_the_records_that_arrive(fresh_runtime: Runtime) -> None:
    """November opens on 1/12 with nothing received yet; the records that come in before its
    cut-off (20/12) reach its draft at the next look an hour after the last rebuild, never
    the edition already issued."""
    rt = fresh_runtime
    hour = timedelta(hours=1)
    opened = datetime(2026, 12, 5, 1, tzinfo=UTC)
    look = partial(run_due, rt, kinds=["monthly"], units=[HOAN_KIEM], refresh=hour)
    assert look(opened) == [Run("monthly", "2026-11", "opened", 1)]
    first = _draft(rt)
    assert _values(rt, first.id) == {}

    send_months(rt.engine, HOAN_KIEM, {10: 8, 11: 6})
    _arrived_at(rt, opened + timedelta(minutes=30))
    assert look(opened + 2 * hour) == [Run("monthly", "2026-11", "refresh", 1)]
    followed = _draft(rt)
    assert (followed.id, followed.edition, followed.status) == (first.id, 1, "draft")
    assert followed.cut_off == opened + 2 * hour
    assert followed.content_sha256 != first.content_sha256
    november = _values(rt, followed.id)
    assert november["I.11"] == 60.0  # 6 of November's 10 dossiers on time
    assert look(opened + 2 * hour + timedelta(minutes=5)) == []  # nothing new since

    # late November records: not within the hour of the last rebuild, then at the next look
    send(rt.engine, "tthc.dossier",
         [monthly_dossier(900 + i, HOAN_KIEM, 11, True) for i in range(5)])
    _arrived_at(rt, opened + 2 * hour + timedelta(minutes=10))
    assert look(opened + 2 * hour + timedelta(minutes=20)) == []
    assert look(opened + 3 * hour) == [Run("monthly", "2026-11", "refresh", 1)]
    assert _values(rt, _draft(rt).id)["I.11"] == 11 / 15 * 100

    # issued: frozen until the closing restates it, whatever arrives before
    archive.issue(rt, _draft(rt).id, number="7/BC-UBND", signer="Nguyễn Văn A",
                  issued_on=date(2026, 12, 5), by="tester")
    send(rt.engine, "tthc.dossier",
         [monthly_dossier(950 + i, HOAN_KIEM, 11, False) for i in range(5)])
    _arrived_at(rt, opened + 4 * hour)
    assert look(opened + 6 * hour) == []
    assert _draft(rt).status == "issued"
    closing = look(datetime(2026, 12, 20, 1, tzinfo=UTC))
    assert [(r.stage, r.built) for r in closing] == [("closed", 1)]
    restating = _draft(rt)
    assert (restating.edition, restating.status) == (2, "draft")
