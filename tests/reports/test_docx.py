"""The DOCX of a report, opened with python-docx: the layout of Nghị định 30/2020/NĐ-CP
(page, margins, fonts and sizes, header block, number, italic date, signature, "Nơi nhận")
and the report's own figures in its text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Length, Mm, Pt

from chiso.context import Runtime
from chiso.numbers import number
from chiso.reports.build import Built, build
from chiso.reports.wording import place_date

ISSUED = date(2027, 1, 5)


def _mm(length: Length | None) -> float:
    assert length is not None
    return length / Mm(1)


@pytest.fixture(params=["city", "00070"])
def built(request: pytest.FixtureRequest, runtime: Runtime, tmp_path: Path) -> Built:
    return build(runtime, "monthly", "2026-11", request.param, tmp_path, issued=ISSUED)


def test_page_margins_and_font(built: Built) -> None:
    doc = Document(str(built.paths[0]))
    s = doc.sections[0]
    assert round(_mm(s.page_width)) == 210
    assert round(_mm(s.page_height)) == 297
    assert 20 <= round(_mm(s.top_margin)) <= 25
    assert 20 <= round(_mm(s.bottom_margin)) <= 25
    assert 30 <= round(_mm(s.left_margin)) <= 35
    assert 15 <= round(_mm(s.right_margin)) <= 20
    normal = doc.styles["Normal"].font  # type: ignore[attr-defined]
    assert normal.name == "Times New Roman"
    assert Pt(13) <= normal.size <= Pt(14)
    runs = [r for p in doc.paragraphs for r in p.runs if r.text.strip()]
    assert runs
    assert {r.font.name for r in runs} == {"Times New Roman"}
    assert all(Pt(13) <= r.font.size <= Pt(14) for r in runs)


def test_header_block(built: Built) -> None:
    doc = Document(str(built.paths[0]))
    left, right = doc.tables[0].rows[0].cells
    lines = [p for p in left.paragraphs if p.text]
    if built.data.unit is None:
        assert lines[0].text == "ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI"
        assert lines[1].text == "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
        issuer = lines[1]
    else:
        assert lines[0].text == "ỦY BAN NHÂN DÂN PHƯỜNG HOÀN KIẾM"
        issuer = lines[0]
    assert issuer.text == issuer.text.upper()
    assert all(r.font.bold for r in issuer.runs)
    rule = [p for p in left.paragraphs if p._p.pPr is not None and
            p._p.pPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
                          "pBdr") is not None]
    assert len(rule) == 1
    number_line = lines[-1].text
    suffix = "BC-SKHCN" if built.data.unit is None else "BC-UBND"
    assert number_line.startswith("Số:")
    assert number_line.endswith(f"/{suffix}")
    nation, motto, *_, dated = [p for p in right.paragraphs if p.text]
    assert nation.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert all(r.font.bold and Pt(12) <= r.font.size <= Pt(13) for r in nation.runs)
    assert motto.text == "Độc lập - Tự do - Hạnh phúc"
    assert all(r.font.bold and Pt(13) <= r.font.size <= Pt(14) for r in motto.runs)
    assert dated.text == "Hà Nội, ngày 05 tháng 01 năm 2027"
    assert all(r.font.italic for r in dated.runs)
    assert len([p for p in right.paragraphs if p._p.pPr is not None and p._p.pPr.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}pBdr") is not None]) == 1


def test_title_addressee_and_body(built: Built) -> None:
    doc = Document(str(built.paths[0]))
    texts = [p.text for p in doc.paragraphs]
    title = doc.paragraphs[texts.index("BÁO CÁO")]
    subject = doc.paragraphs[texts.index("BÁO CÁO") + 1]
    for p in (title, subject):
        assert p.alignment == WD_ALIGN_PARAGRAPH.CENTER
        assert all(r.font.bold for r in p.runs)
    assert "tháng 11 năm 2026" in subject.text
    to = "Ủy ban nhân dân thành phố Hà Nội" if built.data.unit is None else \
        "Sở Khoa học và Công nghệ"
    assert f"Kính gửi: {to}" in texts
    headings = [t for t in texts if t[:4] in ("I. K", "II. ", "III.", "IV. ")]
    assert headings == ["I. KẾT QUẢ THỰC HIỆN", "II. TỒN TẠI, HẠN CHẾ",
                        "III. NHIỆM VỤ TRỌNG TÂM KỲ TỚI", "IV. ĐỀ XUẤT, KIẾN NGHỊ"]
    body = doc.paragraphs[texts.index(headings[0]):]
    prose = [p for p in body if p.text]
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY for p in prose)
    assert all(p.paragraph_format.first_line_indent is not None
               and p.paragraph_format.first_line_indent > 0 for p in prose)
    t = built.data.tasks
    tally = next(x for x in texts if x.startswith("Tổng số"))
    assert f"Tổng số {number(t.tasks, 'vi')} nhiệm vụ" in tally
    assert f"quá hạn chưa hoàn thành {number(t.overdue, 'vi')} nhiệm vụ" in tally
    targets = doc.tables[1]
    assert [c.text for c in targets.rows[0].cells][:2] == ["Chỉ tiêu", "Nội dung"]
    assert {r.cells[0].text for r in targets.rows[1:]} == {x.target for x in built.data.targets}


def test_page_numbers_from_page_two(built: Built) -> None:
    doc = Document(str(built.paths[0]))
    s = doc.sections[0]
    assert s.different_first_page_header_footer
    assert not any(p.text for p in s.first_page_header.paragraphs)
    header = s.header.paragraphs[0]
    assert header.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert "PAGE" in header._p.xml
    assert _mm(s.header_distance) < _mm(s.top_margin)


def test_signature_and_recipients(built: Built) -> None:
    doc = Document(str(built.paths[0]))
    left, right = doc.tables[-1].rows[0].cells
    said = [p for p in right.paragraphs if p.text]
    if built.data.unit is None:
        assert [p.text for p in said[:2]] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    else:
        assert [p.text for p in said[:2]] == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
    assert all(r.font.bold for p in said for r in p.runs)
    note, *copies = [p for p in left.paragraphs if p.text]
    assert note.text == "Nơi nhận:"
    assert all(r.font.bold and r.font.italic and r.font.size == Pt(12) for r in note.runs)
    assert copies[0].text == "- Như trên;"
    assert copies[-1].text.startswith("- Lưu: VT")
    assert all(r.font.size == Pt(11) for p in copies for r in p.runs)


def test_the_english_rendering(runtime: Runtime, tmp_path: Path) -> None:
    got = build(runtime, "monthly", "2026-11", "city", tmp_path, issued=ISSUED, locale="en")
    doc = Document(str(got.paths[0]))
    texts = [p.text for p in doc.paragraphs]
    assert [p.name for p in got.paths] == ["monthly-2026-11-city.en.docx",
                                           "monthly-2026-11-city.xlsx",
                                           "monthly-2026-11-city.en.pdf",
                                           "monthly-2026-11-city.en.manifest.json"]
    assert "REPORT" in texts
    assert "To: Hanoi People's Committee" in texts
    assert any(t.startswith(f"{number(got.data.tasks.tasks, 'en')} tasks in all") for t in texts)


@pytest.mark.parametrize(("day", "words"), [
    (date(2027, 1, 5), "Hà Nội, ngày 05 tháng 01 năm 2027"),
    (date(2026, 2, 20), "Hà Nội, ngày 20 tháng 02 năm 2026"),
    (date(2026, 3, 9), "Hà Nội, ngày 09 tháng 3 năm 2026"),
    (date(2026, 12, 15), "Hà Nội, ngày 15 tháng 12 năm 2026"),
])
def test_place_and_date(day: date, words: str) -> None:
    assert place_date(day, "vi") == words
