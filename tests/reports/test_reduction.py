"""The reduction of manual reporting: per kind, the reports its latest ended period requires
(one per issuing unit) and those chiso wrote; the share against the plan's 80% bar, over the
API and as a line on the reports page."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from tests.conftest import role_headers

from chiso.context import Runtime
from chiso.dashboard.reduction import TARGET, reduction
from chiso.reports import archive
from chiso.reports.build import issuing_units
from chiso.web import deps

TODAY = date(2026, 12, 5)
NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)


def test_reports_written_over_reports_required(fresh_runtime: Runtime,
                                               fresh_client: TestClient) -> None:
    rt = fresh_runtime
    with rt.engine.connect() as conn:
        before = reduction(conn, rt.catalog, TODAY)
    monthly = next(k for k in before.kinds if k.kind == "monthly")
    assert (monthly.period, monthly.written) == ("2026-11", 0)
    assert monthly.required == len(issuing_units(rt, "monthly"))
    assert before.required == sum(len(issuing_units(rt, k.kind)) for k in before.kinds)
    assert (before.written, before.share, before.met) == (0, 0.0, False)

    for unit in ("city", "00070"):
        archive.save(rt, "monthly", "2026-11", unit, today=TODAY, now=NOW)
    archive.save(rt, "monthly", "2026-11", "00070", today=TODAY, now=NOW)  # same unit: once
    archive.save(rt, "monthly", "2026-10", "00004", today=TODAY, now=NOW)  # not the latest
    with rt.engine.connect() as conn:
        after = reduction(conn, rt.catalog, TODAY)
    monthly = next(k for k in after.kinds if k.kind == "monthly")
    assert monthly.written == 2
    assert after.written == 2
    assert after.share == 2 / after.required
    assert after.target == TARGET == 0.8

    fresh_client.app.dependency_overrides[deps.today] = lambda: TODAY  # type: ignore[attr-defined]
    got = fresh_client.get("/api/v1/reports/reduction",
                           headers=role_headers(rt.engine, "viewer"))
    assert got.status_code == 200, got.text
    assert got.json()["written"] == 2
    assert fresh_client.get("/api/v1/reports/reduction").status_code in (401, 403)
    page = fresh_client.get("/bao-cao", headers=role_headers(rt.engine, "operator"))
    assert f"2/{after.required} báo cáo theo quy định" in page.text
    assert "Kế hoạch 131 yêu cầu giảm ít nhất 80%" in page.text
