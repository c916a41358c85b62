"""A report read as of its cut-off: records, corrections and batches received later change
nothing, so a report on a past period built today gives the numbers it gave on the cut-off
day; the live data keeps the late records."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from tests.factories import feed_contract, monthly_dossier, send_months

from chiso.context import Runtime
from chiso.intake.pipeline import Provenance, ingest
from chiso.reports import archive
from chiso.reports.as_of import cut_off_for, due_cut_off, view
from chiso.reports.build import content_hash
from chiso.reports.content import gather
from chiso.store.tables import feed_tthc_dossier

HOAN_KIEM = "00070"


def _value(rt: Runtime, target: str) -> float | None:
    data = gather(rt, "monthly", "2026-11", HOAN_KIEM)
    line = next(t for t in data.targets if t.target == target)
    return line.outlook.latest.value if line.outlook.latest else None


def test_late_records_change_nothing_as_of_the_cut_off(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    send_months(rt.engine, HOAN_KIEM, {10: 8, 11: 6})
    on_the_day = gather(rt, "monthly", "2026-11", HOAN_KIEM)
    time.sleep(0.01)
    cut = datetime.now(UTC)
    time.sleep(0.01)
    with view(rt, cut) as seen:
        assert seen is rt  # nothing arrived since: the live data is the view

    # late: new November dossiers, and corrections of dossiers the report counted
    late = [monthly_dossier(500 + i, HOAN_KIEM, 11, True) for i in range(10)]
    fixed = [{**monthly_dossier(1100 + i, HOAN_KIEM, 11, True),
              "updated_at": "2026-11-28T10:00:00+07:00"} for i in range(6, 10)]
    out = ingest(rt.engine, feed_contract("tthc.dossier"), late + fixed,
                 Provenance("t", "push"), b"{}", "application/json")
    assert out.accepted, out.as_dict()
    assert content_hash(gather(rt, "monthly", "2026-11", HOAN_KIEM)) != \
        content_hash(on_the_day)

    with view(rt, cut) as seen:
        assert seen is not rt
        again = gather(seen, "monthly", "2026-11", HOAN_KIEM)
        with seen.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(feed_tthc_dossier)
                                ).scalar_one() == 20
    assert again == on_the_day
    assert content_hash(again) == content_hash(on_the_day)
    with rt.engine.connect() as conn:  # the live data keeps every record
        assert conn.execute(select(func.count()).select_from(feed_tthc_dossier)
                            ).scalar_one() == 30

    stored = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 20),
                          cut_off=cut)
    assert stored.content_sha256 == content_hash(on_the_day)
    assert stored.cut_off == cut


def test_a_report_closes_at_the_start_of_its_due_day(runtime: Runtime) -> None:
    monthly = runtime.catalog.reports["monthly"]
    due = due_cut_off(monthly, date(2026, 11, 30))
    assert due == datetime(2026, 12, 19, 17, tzinfo=UTC)  # 20/12 00:00 in Hanoi
    assert cut_off_for(monthly, date(2026, 11, 30), datetime(2027, 3, 1, tzinfo=UTC)) == due
    early = datetime(2026, 12, 5, 3, tzinfo=UTC)
    assert cut_off_for(monthly, date(2026, 11, 30), early) == early
    annual = runtime.catalog.reports["annual"]
    assert due_cut_off(annual, date(2026, 12, 31)) == datetime(2027, 1, 19, 17, tzinfo=UTC)
