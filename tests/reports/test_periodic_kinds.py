"""The kinds after the monthly one, as data: quarterly, six-month, nine-month and annual
reports with their periods and the period after them, and the ranking report (every scoring
method, departments and communes, the change of rank and the criteria that moved it)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from docx import Document
from tests.factories import send_months

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.reports.build import build
from chiso.reports.content import ReportError, gather, report_period
from chiso.reports.wording import compose
from chiso.scoring.live import compute

HOAN_KIEM, BA_DINH = "00070", "00004"


def test_every_kind_is_in_the_catalog(catalog: Catalog) -> None:
    kinds = catalog.reports
    assert {k: v.cadence for k, v in kinds.items()} == {
        "monthly": "monthly", "quarterly": "quarterly", "six-months": "semiannual",
        "nine-months": "nine_months", "annual": "annual", "ranking": "quarterly",
        "sme-annual": "annual"}
    ranking = kinds["ranking"]
    assert "rankings" in ranking.sections
    assert ranking.rankings is not None
    assert ranking.rankings.kinds == ["department", "commune"]
    assert set(ranking.scopes) == {"city"}


@pytest.mark.parametrize(("kind", "label", "start", "end", "next_start", "next_end", "words"), [
    ("quarterly", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30), date(2026, 10, 1),
     date(2026, 12, 31), "quý III năm 2026"),
    ("six-months", "2026-H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 1),
     date(2026, 12, 31), "6 tháng đầu năm 2026"),
    ("nine-months", "2026-9M", date(2026, 1, 1), date(2026, 9, 30), date(2026, 10, 1),
     date(2026, 12, 31), "9 tháng đầu năm 2026"),
    ("annual", "2026", date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 1),
     date(2027, 12, 31), "của Thành phố năm 2026"),
])
def test_a_periodic_report_covers_its_span(runtime: Runtime, kind: str, label: str,
                                           start: date, end: date, next_start: date,
                                           next_end: date, words: str) -> None:
    data = gather(runtime, kind, label, "city")
    assert (data.period, data.start, data.end, data.as_of) == (label, start, end, end)
    assert (data.next_start, data.next_end) == (next_start, next_end)
    assert all(next_start <= d.due <= next_end for d in data.tasks.due_next)
    letter = compose(data, runtime.catalog, "vi", date(2027, 1, 5))
    assert letter.subject.endswith(words)
    assert [b.text for b in letter.blocks if b.kind == "heading"] == [
        "I. KẾT QUẢ THỰC HIỆN", "II. TỒN TẠI, HẠN CHẾ", "III. NHIỆM VỤ TRỌNG TÂM KỲ TỚI",
        "IV. ĐỀ XUẤT, KIẾN NGHỊ"]
    unit = gather(runtime, kind, label, "SNV")
    assert 0 < len(unit.targets) < len(data.targets)


@pytest.mark.parametrize(("kind", "label", "words"), [
    ("quarterly", "2026-11", "for a quarter: write e.g. 2026-Q4"),
    ("six-months", "2026-Q2", "for a half: write e.g. 2026-H1"),
    ("nine-months", "2026-01-01..2026-08-31", "for nine months: write e.g. 2026-9M"),
    ("annual", "2026-H2", "for a year: write e.g. 2026"),
    ("ranking", "2026", "for a quarter"),
])
def test_a_period_of_another_cadence_is_refused(catalog: Catalog, kind: str, label: str,
                                                words: str) -> None:
    with pytest.raises(ReportError, match=words):
        report_period(catalog.reports[kind], label)


def test_nine_months_written_as_a_span(catalog: Catalog) -> None:
    got = report_period(catalog.reports["nine-months"], "2026-01-01..2026-09-30")
    assert (got.start, got.end) == (date(2026, 1, 1), date(2026, 9, 30))


def test_the_ranking_report_names_the_change_of_rank_and_its_criteria(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    rt = fresh_runtime
    # Q3: Hoàn Kiếm 10/10 on time, Ba Đình 5/10; Q4 the other way round
    send_months(rt.engine, HOAN_KIEM, {8: 10, 11: 5})
    send_months(rt.engine, BA_DINH, {8: 5, 11: 10})
    # the scores chiso stores as data arrive in each quarter (chiso.scoring.follow)
    compute(rt.engine, rt.catalog, "dvc-766", "2026-Q3", date(2026, 9, 30))
    compute(rt.engine, rt.catalog, "dvc-766", "2026-Q4", date(2026, 12, 31))
    data = gather(rt, "ranking", "2026-Q4", "city")
    methods = sorted(rt.catalog.methods.versions) if rt.catalog.methods else []
    assert {(t.method, t.kind) for t in data.rankings} == {
        (m, k) for m in methods for k in ("department", "commune")}
    dvc = next(t for t in data.rankings if (t.method, t.kind) == ("dvc-766", "commune"))
    assert dvc.previous_period == "2026-Q3"
    assert len(dvc.rows) == 126
    first, second = dvc.rows[:2]
    assert (first.unit, first.rank, first.rank_change) == (BA_DINH, 1, 1)
    assert (second.unit, second.rank, second.rank_change) == (HOAN_KIEM, 2, -1)
    assert [m.criterion for m in first.explanation][:1] == ["2.1"]
    unranked = next(t for t in data.rankings if (t.method, t.kind) == ("dx-5279", "commune"))
    assert all(r.rank_change is None for r in unranked.rows)  # no stored previous quarter

    got = build(rt, "ranking", "2026-Q4", "city", tmp_path, issued=date(2027, 1, 8))
    heads = [b.text for b in got.letter.blocks if b.kind == "heading"]
    assert heads == ["I. KẾT QUẢ ĐÁNH GIÁ, XẾP HẠNG", "II. ĐỀ XUẤT, KIẾN NGHỊ"]
    tables = [b for b in got.letter.blocks if b.kind == "table"]
    assert len(tables) == len(data.rankings)
    row = next(r for t in tables for r in t.rows if r[1] == first.name and r[3] == "tăng 1")
    assert "Hồ sơ giải quyết trước và đúng hạn" in row[4]
    assert row[4].endswith("điểm)")
    doc = Document(str(got.paths[0]))
    cells = {c.text for t in doc.tables for r in t.rows for c in r.cells}
    assert "tăng 1" in cells
    assert "giảm 1" in cells
    assert "chưa có kỳ trước" in cells
    english = compose(data, rt.catalog, "en", date(2027, 1, 8))
    assert any(r[3] == "up 1" for b in english.blocks if b.kind == "table" for r in b.rows)
