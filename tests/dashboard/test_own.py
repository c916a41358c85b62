"""chiso's own results (plan 131, Appendix 02 row 7) measured from its own data: units scored
automatically, targets tracked in real time, values from systems, missed targets flagged 8
weeks ahead, periodic reports written automatically; each a dashboard tile with the plan's
threshold. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select
from tests.factories import feed_contract, send_months

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.dashboard import own
from chiso.dashboard.board import tile_view
from chiso.intake.pipeline import Provenance, ingest
from chiso.reports import archive
from chiso.reports.build import issuing_units
from chiso.scoring.live import compute, scored_units
from chiso.store.tables import alerts, intake_batches

TODAY = date(2026, 4, 10)
AFTER = date(2027, 1, 10)  # every deadline of 2026 passed


def test_own_results(fresh_engine: Engine, catalog: Catalog) -> None:
    send_months(fresh_engine, "00070", {3: 5})  # ten dossiers pushed by a system, 5 on time
    stat = {"indicator": "vneid_share", "unit": "00070", "period": "2026-03", "value": 0.9,
            "numerator": 90.0, "denominator": 100.0, "source_ref": "Báo cáo 12/BC",
            # published a day before the push below: fresh by the clock the test passes
            "published_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
    out = ingest(fresh_engine, feed_contract("stats.value"), [stat, {**stat, "unit": "00004"}],
                 Provenance("steward", "file", manual=True, evidence_sha256="ab" * 32),
                 b"{}", "application/json")
    assert out.accepted, out.as_dict()

    with fresh_engine.connect() as conn:
        # 10 records from a system, 2 typed by hand
        assert own.from_systems(conn, TODAY)["value"] == pytest.approx(100 * 10 / 12)
        tile = catalog.dashboard.tiles["du-lieu-tu-he-thong"]  # type: ignore[union-attr]
        view = tile_view(conn, catalog, tile, TODAY)
        assert view["target"] == {"op": ">=", "threshold": 100.0}
        assert view["status"] == "behind"  # 83.3% against 100%

        # real time: the targets bound to dossier indicators are fresh for a day and its hours
        pushed = conn.execute(select(func.max(intake_batches.c.received_at)).where(
            intake_batches.c.feed == "tthc.dossier")).scalar_one()
        pushed = pushed if pushed.tzinfo else pushed.replace(tzinfo=UTC)
    m = catalog.measurement
    assert m is not None
    on_dossiers = sum(1 for b in m.plans["131/KH-UBND"].bindings.values()
                      if b.indicators and m.indicators[b.indicators[0]].feed == "tthc.dossier")
    with fresh_engine.connect() as conn:
        soon = own.realtime(conn, catalog, TODAY, now=pushed + timedelta(hours=1))
        later = own.realtime(conn, catalog, TODAY, now=pushed + timedelta(days=10))
    # vneid_share was published too (by hand), so III.1a is fresh for its month as well
    assert soon["count"] == on_dossiers + 1
    assert soon["of"] == 61
    assert later["count"] == 1  # the monthly figure is still within its month and hours
    with fresh_engine.connect() as conn:
        stale = own.realtime(conn, catalog, TODAY, now=pushed + timedelta(days=70))
    assert stale["count"] == 0

    compute(fresh_engine, catalog, "dvc-766", "2026-YTD", TODAY, units=2)
    with fresh_engine.connect() as conn:
        got = own.scored(conn, catalog, TODAY)
    total = len(scored_units(catalog, "department")) + len(scored_units(catalog, "commune"))
    assert (got["count"], got["of"]) == (4, total)

    # after the deadlines: I.11 (50% on time), I.9 (50% re-use) and III.1a (VNeID 90% of
    # 95%) missed; only I.11 was alerted eight weeks ahead
    with fresh_engine.begin() as conn:
        for item, day in (("I.11", date(2026, 10, 1)), ("I.9", date(2026, 12, 1))):
            conn.execute(insert(alerts).values(
                subject=f"target 131-KH-UBND {item} 00070", dedup_key=f"k-{item}",
                kind="target", plan_key="131-KH-UBND", item_id=item, unit="00070",
                status="chậm tiến độ", message="…", detail={}, raised_on=day,
                superseded=False, created_at=datetime(2026, 10, 1, tzinfo=UTC)))
    with fresh_engine.connect() as conn:
        early = own.early(conn, catalog, AFTER)
        before = own.early(conn, catalog, TODAY)
    assert (early["count"], early["of"]) == (1, 3)
    assert early["value"] == pytest.approx(100 / 3, abs=1e-4)  # 4 places
    assert [w["name"] for w in early["where"]] == ["I.9", "III.1a"]
    assert before["value"] is None  # no deadline passed yet: nothing to judge


def test_reports_written_tile(fresh_runtime: Runtime) -> None:
    """The reports the plans require for each kind's latest ended period (one per issuing
    unit), n in all; chiso wrote k of them: the tile shows k/n against the plan's 80%."""
    rt = fresh_runtime
    today, now = date(2026, 12, 5), datetime(2026, 12, 5, 3, tzinfo=UTC)
    tile = rt.catalog.dashboard.tiles["bao-cao-tu-dong"]  # type: ignore[union-attr]
    n = sum(len(issuing_units(rt, kind)) for kind in rt.catalog.reports)
    with rt.engine.connect() as conn:
        empty = tile_view(conn, rt.catalog, tile, today)
    assert (empty["count"], empty["of"], empty["value"]) == (0, n, 0.0)
    assert empty["target"] == {"op": ">=", "threshold": 80.0}
    assert empty["status"] == "behind"

    for unit in ("city", "00070"):  # the November monthly reports: the latest ended month
        archive.save(rt, "monthly", "2026-11", unit, today=today, now=now)
    archive.save(rt, "monthly", "2026-10", "00004", today=today, now=now)  # an earlier month
    with rt.engine.connect() as conn:
        view = tile_view(conn, rt.catalog, tile, today)
    assert (view["count"], view["of"]) == (2, n)
    assert view["value"] == pytest.approx(100 * 2 / n, abs=1e-4)
    assert view["status"] == "behind"
    assert view["as_of"] is not None
    # pulling it down: the kinds with the smallest share written, none of them yet
    assert [w["value"] for w in view["where"]] == [0.0] * 5
    assert f"{rt.catalog.reports['quarterly'].title_vi} 2026-Q3" in \
        [w["name"] for w in view["where"]]
