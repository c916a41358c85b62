"""The SME annual report (plan 232, before 15 December) is a report kind like the others: its
first section reads the SME programme's answer, its figures stop the day before it is due,
and it builds into DOCX, XLSX and PDF from the records, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from tests.factories import feed_contract

from chiso.catalog.loader import Catalog
from chiso.context import Runtime
from chiso.intake.pipeline import Provenance, ingest
from chiso.reports.as_of import due_cut_off
from chiso.reports.build import build
from chiso.reports.content import report_period
from chiso.reports.schedule import last_period

A = "00070"


def _support(i: int, tax: str, day: str, sector: str, **over: Any) -> dict[str, Any]:
    at = f"{day}T09:00:00+07:00"
    rec: dict[str, Any] = {
        "id": f"HT-{i}", "unit": A, "tax_code": tax, "size_class": "micro", "sector": sector,
        "kind": "consulting", "provider": "Trung tâm", "supported_at": at, "updated_at": at}
    rec.update(over)
    return rec


def test_the_kind_is_due_within_its_year(catalog: Catalog) -> None:
    kind = catalog.reports["sme-annual"]
    assert (kind.cadence, kind.due_day, kind.due_month) == ("annual", 15, 12)
    assert kind.sections[0] == "sme_programme"
    end = report_period(kind, "2027").end
    assert due_cut_off(kind, end) == datetime(2027, 12, 14, 17, 0, tzinfo=UTC)
    assert last_period(kind, date(2027, 12, 1)) == "2027"
    assert last_period(kind, date(2027, 11, 30)) == "2026"


def test_the_sme_report_builds_from_records(fresh_runtime: Runtime, tmp_path: Path) -> None:
    app = {"kind": "solution_application", "solution": "Phần mềm kế toán"}
    records = [
        _support(1, "E1", "2026-05-04", "C"),
        _support(2, "E1", "2027-03-04", "C", **app, contract_signed=True),
        _support(3, "E2", "2027-06-04", "G", kind="readiness_assessment",
                 readiness_before=1, readiness_after=2),
        # After the cut-off (14/12): not in the 2027 report.
        _support(4, "E3", "2027-12-20", "G")]
    out = ingest(fresh_runtime.engine, feed_contract("sme.support"), records,
                 Provenance("sme-sim", "push"), b"{}", "application/json")
    assert out.accepted, out.problems
    built = build(fresh_runtime, "sme-annual", "2027", "city", tmp_path,
                  issued=date(2027, 12, 14), now=datetime(2028, 1, 5, tzinfo=UTC))
    data = built.data
    assert data.as_of == date(2027, 12, 14)
    assert data.sme is not None
    assert (data.sme.supported, data.sme.supported_this_year) == (2, 2)
    assert [s.code for s in data.sme.sectors] == ["G", "C"]  # G lags: none applying
    assert data.sme.this_year.readiness_raised == 1
    assert data.sme.this_year.contracts == 1
    docx, xlsx, pdf = built.paths[:3]
    assert (docx.suffix, xlsx.suffix, pdf.suffix) == (".docx", ".xlsx", ".pdf")
    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "I. KẾT QUẢ HỖ TRỢ DOANH NGHIỆP NHỎ VÀ VỪA CHUYỂN ĐỔI SỐ" in text
    assert ("Từ ngày 01/01/2026 đến hết ngày 14/12/2027, 2 doanh nghiệp nhỏ và vừa đã được hỗ "
            "trợ chuyển đổi số") in text
    assert "Mốc năm 2027: 48.000 doanh nghiệp (mặc định theo tuyến tính)" in text
    assert "thấp hơn tỷ lệ của kế hoạch (60%): G. Bán buôn và bán lẻ" in text
    cells = [c.text for t in Document(str(docx)).tables for r in t.rows for c in r.cells]
    assert "1 (100%)" in cells  # E2 assessed before and after, its level raised


@pytest.mark.parametrize("unit", ["00070"])
def test_a_commune_reports_its_own_programme(fresh_runtime: Runtime, tmp_path: Path,
                                             unit: str) -> None:
    out = ingest(fresh_runtime.engine, feed_contract("sme.support"),
                 [_support(1, "E1", "2027-05-04", "C"),
                  {**_support(2, "E9", "2027-05-04", "C"), "unit": "00004"}],
                 Provenance("sme-sim", "push"), b"{}", "application/json")
    assert out.accepted, out.problems
    built = build(fresh_runtime, "sme-annual", "2027", unit, tmp_path,
                  issued=date(2027, 12, 10), now=datetime(2028, 1, 5, tzinfo=UTC))
    assert built.data.sme is not None
    assert built.data.sme.unit == unit
    assert built.data.sme.supported == 1
