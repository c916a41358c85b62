"""The simulated statistics office's quarterly commune-GRDP releases go through the push API
whole; a revision replaces the figure and stays in history; growth and the reconciliation gap
come out as the released figures say."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from chiso.intake.sources import add_source
from chiso.measurement import grdp
from chiso.measurement import values as mv
from chiso_sim.grdp import grdp_releases
from chiso_sim.hanoi import VN
from chiso_sim.servers import batches

NOW = datetime(2026, 7, 25, 12, 0, tzinfo=VN)  # the second quarter's release is out
A, CITY = "00070", "UBNDTP"


def test_quarterly_releases_with_a_revision(fresh_client: TestClient,
                                            fresh_engine: Engine) -> None:
    records = grdp_releases(2026, 2026, NOW)
    assert records == grdp_releases(2026, 2026, NOW)
    token = add_source(fresh_engine, "thongke-grdp", ["stats.grdp"], None)
    for batch in batches(records, 5000):
        r = fresh_client.post("/api/v1/feeds/stats.grdp/records", json=batch,
                              headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text[:2000]

    def released(unit: str, period: str, sector: str, basis: str) -> list[float]:
        return [float(r["value"]) for r in records
                if (r["unit"], r["period"], r["sector"], r["price_basis"])
                == (unit, period, sector, basis)]

    q1 = released(A, "2026-Q1", "TOTAL", "comparable")
    assert len(q1) == 2  # first release, then revised in the second quarter's release
    before = released(A, "2025-Q1", "TOTAL", "comparable")[-1]
    with fresh_engine.connect() as conn:
        assert grdp.growth(conn, A, "2026-Q1") == pytest.approx((q1[-1] / before - 1) * 100)
        assert [v for _, _, v in grdp.history(conn, A, "2026-Q1", "TOTAL", "comparable")] == q1
        rec = grdp.reconcile(conn, "2026-6T")
        shares = grdp.structure(conn, A, "2026-Q2")
    assert rec.communes_reporting == 126
    assert rec.city is not None
    assert rec.gap == pytest.approx(rec.city - rec.communes)
    assert rec.gap_pct == pytest.approx(1.5, abs=0.1)  # the office's unallocated 1,5%
    assert shares is not None
    assert sum(shares.values()) == pytest.approx(100, abs=0.1)
    # the digital economy's value added travels in the release, revised with it: II.1 reads
    # the revised estimate over the revised total, II.2 the lowest of the sectors' shares
    kts = released(CITY, "2026-Q1", "KTS", "current")
    total = released(CITY, "2026-Q1", "TOTAL", "current")
    assert len(kts) == 2
    assert kts[1] > kts[0]
    m = fresh_client.app.state.runtime.catalog.measurement  # type: ignore[attr-defined]
    with fresh_engine.connect() as conn:
        [ii1] = mv.values(conn, m, "stats.grdp_digital_economy_share", "2026-Q1",
                          today=NOW.date())
        [ii2] = mv.values(conn, m, "stats.grdp_digital_economy_lowest_sector_share",
                          "2026-Q1", today=NOW.date())
        communes = mv.values(conn, m, "stats.grdp_digital_economy_share", "2026-Q2",
                             level="units", today=NOW.date())
    assert ii1.value == pytest.approx(kts[1] / total[1] * 100)
    sectors = [released(CITY, "2026-Q1", f"KTS-KV{n}", "current")[-1]
               / released(CITY, "2026-Q1", f"KV{n}", "current")[-1] * 100 for n in (1, 2, 3)]
    assert ii2.value == pytest.approx(min(sectors))
    assert len(communes) == 127  # every commune and the city
