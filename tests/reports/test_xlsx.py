"""The XLSX annex: its rows are the catalog's Phụ lục 01 targets and Phụ lục 02 task rows,
column by column, with the report's value, threshold, status and forecast; numbers in
Vietnamese formats, frozen headers, filters and print set-up; its values are the API's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from tests.conftest import role_headers
from tests.factories import send_months

from chiso.context import Runtime
from chiso.outlook import evidence
from chiso.reports.build import build
from chiso.store.catalog_sync import plan_key
from chiso.web import deps

PLAN = "131/KH-UBND"


def test_the_annex_mirrors_the_appendices(runtime: Runtime, tmp_path: Path) -> None:
    got = build(runtime, "monthly", "2026-11", "city", tmp_path, issued=date(2026, 12, 5))
    wb = load_workbook(got.paths[1])
    pl1, pl2 = wb["Phụ lục 01"], wb["Phụ lục 02"]
    entry = runtime.catalog.plan(PLAN)
    header = [c.value for c in pl1[3]]
    assert header[:7] == ["TT", "Chi tiết", "Mục tiêu",
                          "Đơn vị chủ trì theo dõi, hướng dẫn, tổng hợp",
                          "Đơn vị chủ trì thực hiện", "Đơn vị phối hợp", "Căn cứ"]
    rows = list(pl1.iter_rows(min_row=4, values_only=True))
    targets = [t for t in entry.targets if t.row is not None]
    assert [(r[0], r[1], r[2]) for r in rows] == [(t.row, t.id, t.text) for t in targets]
    assert {r[3] for r in rows} == {", ".join(t.tracking) for t in targets}
    shown = {x.target: x.outlook for x in got.data.targets}
    for r in rows:
        o = shown[str(r[1])]
        factor = 100 if o.unit_of_measure == "%" else 1
        assert r[8] is not None
        assert abs(float(r[8]) * factor - o.threshold) < 1e-9
        assert r[9] == (o.status or "chưa có nguồn dữ liệu")
    assert [c.value for c in pl2[3]][:8] == [
        "TT", "Chi tiết", "Tên nhóm nhiệm vụ/nhiệm vụ", "Đơn vị chủ trì", "Đơn vị phối hợp",
        "Thời hạn hoàn thành", "Kết quả cần đạt (Định lượng)", "Sản phẩm đầu ra"]
    tasks = [t for t in entry.tasks if t.section == "appendix"]
    rows2 = list(pl2.iter_rows(min_row=4, values_only=True))
    assert [r[0] for r in rows2] == [t.row for t in tasks]
    assert [r[2] for r in rows2] == [t.title for t in tasks]
    for ws in (pl1, pl2):
        assert ws.freeze_panes == "A4"
        assert ws.auto_filter.ref is not None
        assert ws.auto_filter.ref.startswith("A3:")
        assert ws.page_setup.orientation == "landscape"
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
        assert ws.print_title_rows == "$3:$3"
    percents = [pl1.cell(i, 9).number_format for i in range(4, pl1.max_row + 1)
                if shown[str(pl1.cell(i, 2).value)].unit_of_measure == "%"]
    assert percents
    assert set(percents) == {"[$-42A]0.0%"}


def test_a_task_done_shows_in_the_annex(fresh_runtime: Runtime, tmp_path: Path) -> None:
    rt = fresh_runtime
    task = next(t for t in rt.catalog.plan(PLAN).tasks if t.section == "appendix"
                and t.deadline.kind == "date" and t.deadline.date is not None
                and t.deadline.date < date(2026, 11, 1))
    assert task.deadline.date is not None
    with rt.engine.begin() as conn:
        evidence.attach(conn, plan_key(PLAN), task.id, uploaded_by="test", unit=None,
                        url="https://example.org/ket-qua", completes=True,
                        now=datetime.combine(task.deadline.date, datetime.min.time(), UTC))
    got = build(rt, "monthly", "2026-11", "city", tmp_path, issued=date(2026, 12, 5))
    row = next(r for r in load_workbook(got.paths[1])["Phụ lục 02"].iter_rows(
        min_row=4, values_only=True) if r[0] == task.row)
    assert row[8] == "Hoàn thành đúng hạn"
    assert row[9] == 1


def test_the_letter_names_the_worst_gaps_and_the_annex_lists_every_one(
        runtime: Runtime, tmp_path: Path) -> None:
    from docx import Document

    from chiso.reports.build import write
    from chiso.reports.content import FeedGap

    got = build(runtime, "monthly", "2026-11", "city", tmp_path / "a", issued=date(2026, 12, 5))
    listed = runtime.catalog.reports["monthly"].accountability.listed
    units = list(runtime.catalog.units.units.values())[:listed + 5]
    gaps = [FeedGap(feed="tthc.dossier", unit=u.code, unit_name=u.name,
                    completeness=i / 100, on_time_share=0.5, records=i)
            for i, u in enumerate(units)]
    many = write(runtime, got.data.model_copy(update={"gaps": gaps}), tmp_path / "b",
                 issued=date(2026, 12, 5))
    doc = Document(str(many.paths[0]))
    table = next(t for t in doc.tables if t.rows[0].cells[1].text == "Luồng dữ liệu")
    assert [r.cells[0].text for r in table.rows[1:]] == [g.unit_name for g in gaps[:listed]]
    said = "\n".join(p.text for p in doc.paragraphs)
    assert f"Có {len(gaps)} trường hợp" in said
    assert "Phụ lục 03" in said
    pl3 = load_workbook(many.paths[1])["Phụ lục 03"]
    rows = list(pl3.iter_rows(min_row=4, values_only=True))
    assert [(r[0], r[1], r[3], r[6]) for r in rows] == [
        (i, g.unit, g.feed, g.records) for i, g in enumerate(gaps, start=1)]
    assert pl3.cell(4, 5).number_format == "[$-42A]0.0%"
    assert pl3.freeze_panes == "A4"


def test_the_annex_values_are_the_apis(fresh_runtime: Runtime, fresh_client: TestClient,
                                       tmp_path: Path) -> None:
    """Each Phụ lục 01 row's current value, status and forecast equal what
    ``GET /api/v1/plans/…/targets/…/outlook`` answers for the city on the cut-off day."""
    rt = fresh_runtime
    for unit in ("00070", "00004"):
        send_months(rt.engine, unit, {8: 6, 9: 7, 10: 8, 11: 9})
    got = build(rt, "monthly", "2026-11", "city", tmp_path, issued=date(2026, 12, 5),
                cut_off=datetime.now(UTC) + timedelta(minutes=1))  # after the records
    fresh_client.app.dependency_overrides[deps.today] = (  # type: ignore[attr-defined]
        lambda: got.data.as_of)
    headers = role_headers(rt.engine, "viewer")
    key = plan_key(PLAN)
    rows = list(load_workbook(got.paths[1])["Phụ lục 01"].iter_rows(min_row=4,
                                                                    values_only=True))
    valued = 0
    for r in rows:
        answer = fresh_client.get(f"/api/v1/plans/{key}/targets/{r[1]}/outlook",
                                  headers=headers)
        assert answer.status_code == 200, answer.text
        o = answer.json()
        factor = 100 if o["unit_of_measure"] == "%" else 1
        latest = o["latest"]["value"] if o.get("latest") else None
        forecast = (o.get("forecast") or {}).get("value")
        if latest is None:
            assert r[7] is None, r[1]
        else:
            valued += 1
            assert r[7] is not None, r[1]
            assert float(r[7]) * factor == pytest.approx(latest), r[1]
        if forecast is None:
            assert r[10] is None, r[1]
        else:
            assert float(r[10]) * factor == pytest.approx(forecast), r[1]
        assert r[9] == (o["status"] or "chưa có nguồn dữ liệu"), r[1]
    assert valued >= 3  # the dossier targets have values from the months sent
