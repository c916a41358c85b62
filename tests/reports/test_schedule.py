"""Reports built on schedule: the last period of each kind falls due when it ends (opened)
and again when its due cut-off passes (closed); two processes looking at once build each run
once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.reports import archive
from chiso.reports.schedule import Run, last_period, run_due
from chiso.store.db import make_engine
from chiso.store.tables import report_runs

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
