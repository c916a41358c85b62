"""Reports built on schedule: the last period of each kind falls due when it ends (opened)
and again when its due cut-off passes (closed); two processes looking at once build each run
once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

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
