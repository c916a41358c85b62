"""Stored reports and their workflow: a draft is rebuilt in place, issued once with its
number, date and signer and then frozen; a later build with other figures is the next
edition, restating the issued one figure by figure."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from docx import Document
from tests.factories import send_months

from chiso.context import Runtime
from chiso.reports import archive
from chiso.reports.build import content_hash
from chiso.reports.content import ReportError, gather

HOAN_KIEM = "00070"


def _text(body: bytes) -> str:
    doc = Document(io.BytesIO(body))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _docx(rt: Runtime, report_id: int) -> bytes:
    with rt.engine.connect() as conn:
        got = archive.file(conn, report_id, f"monthly-2026-11-{HOAN_KIEM}.docx")
    assert got is not None
    return got[1]


def test_draft_issue_and_restatement(fresh_runtime: Runtime) -> None:
    rt = fresh_runtime
    draft = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 5))
    assert (draft.edition, draft.status, draft.restates) == (1, "draft", None)
    assert draft.content_sha256 == content_hash(gather(rt, "monthly", "2026-11", HOAN_KIEM))
    assert draft.catalog == rt.catalog.digest
    assert set(draft.methods) == {"plan-completion"}
    assert sorted(f.name.rsplit(".", 1)[1] for f in draft.files) == [
        "docx", "json", "pdf", "xlsx"]
    assert "Số:       /BC-UBND" in _text(_docx(rt, draft.id))

    again = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 6))
    assert (again.id, again.edition, again.built_at) == (draft.id, 1, draft.built_at)

    with pytest.raises(ReportError, match="signer"):
        archive.issue(rt, draft.id, number="125", signer=" ", issued_on=date(2026, 12, 8),
                      by="user:op")
    issued = archive.issue(rt, draft.id, number="125", signer="Nguyễn Văn An",
                           issued_on=date(2026, 12, 8), by="user:op",
                           proposals="Đề nghị UBND Thành phố bố trí kinh phí duy trì hệ thống.")
    assert (issued.status, issued.number, issued.issued_by) == ("issued", "125", "user:op")
    assert issued.content_sha256 == draft.content_sha256  # the figures the draft showed
    frozen = _docx(rt, draft.id)
    text = _text(frozen)
    assert "Số: 125/BC-UBND" in text
    assert "Nguyễn Văn An" in text
    assert "Đề nghị UBND Thành phố bố trí kinh phí duy trì hệ thống." in text
    assert "ngày 08 tháng 12 năm 2026" in text
    with pytest.raises(archive.ReportStateError, match="already issued"):
        archive.issue(rt, draft.id, number="126", signer="X", issued_on=date(2026, 12, 9),
                      by="user:op")

    # the same figures rebuilt: nothing to restate
    same = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 10))
    assert same.id == issued.id

    # records of November arrive late: the next edition restates the issued one
    send_months(rt.engine, HOAN_KIEM, {11: 4})
    restated = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 12),
                            cut_off=datetime.now(UTC))
    assert (restated.edition, restated.status, restated.restates) == (2, "draft", issued.id)
    assert restated.content_sha256 != issued.content_sha256
    moved = {c.figure: c for c in restated.changes}
    assert moved, "the restatement lists the changed figures"
    assert all(c.old != c.new for c in restated.changes)
    assert any(f.startswith("target ") for f in moved)
    assert _docx(rt, issued.id) == frozen  # the issued edition is untouched
    with rt.engine.connect() as conn:
        assert [r.edition for r in archive.listing(conn, unit=HOAN_KIEM)] == [2, 1]
        old = archive.data_of(conn, issued.id)
    assert old is not None
    assert content_hash(old) == issued.content_sha256

    # more late records: the draft edition is rebuilt in place, still restating edition 1
    send_months(rt.engine, HOAN_KIEM, {10: 10})
    later = archive.save(rt, "monthly", "2026-11", HOAN_KIEM, today=date(2026, 12, 14),
                         cut_off=datetime.now(UTC))
    assert (later.id, later.edition, later.restates) == (restated.id, 2, issued.id)
