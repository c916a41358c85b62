"""A report as DOCX in the layout of Nghị định 30/2020/NĐ-CP (Phụ lục I): A4; margins
top and bottom 20 mm, left 30 mm, right 15 mm; Times New Roman; the two-column header (parent
body and issuing body with a short rule, the national motto block with its rule); number,
italic place and date; "BÁO CÁO" and the subject bold and centred; "Kính gửi"; a justified
body with a first-line indent; page numbers centred in the top margin from page 2; the
signature block beside "Nơi nhận"."""

from __future__ import annotations

from datetime import datetime, time
from io import BytesIO
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from chiso.exports.zipped import write_fixed
from chiso.reports.wording import Letter

FONT = "Times New Roman"
BODY_PT = 14
HEADER_PT = 13
MOTTO_PT = 12
NOTE_PT = 12  # "Nơi nhận:"
COPIES_PT = 11
TABLE_PT = 12
NATION = {"vi": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"),
          "en": ("SOCIALIST REPUBLIC OF VIETNAM", "Independence - Freedom - Happiness")}


def _run(p: Paragraph, text: str, size: float, *, bold: bool = False,
         italic: bool = False) -> None:
    r = p.add_run(text)
    r.font.name = FONT
    r.font.size = Pt(size)
    if bold:  # unset is not bold: fewer elements to write in long tables
        r.font.bold = True
    if italic:
        r.font.italic = True
    r._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _para(container: DocxDocument | _Cell, text: str = "", size: float = BODY_PT, *,
          bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER, after: float = 0,
          indent: bool = False) -> Paragraph:
    p = container.add_paragraph()
    p.alignment = align
    fmt = p.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(after)
    if indent:
        fmt.first_line_indent = Mm(10)
    if text:
        _run(p, text, size, bold=bold, italic=italic)
    return p


def _rule(cell: _Cell, width_mm: float, column_mm: float) -> None:
    """A short centred horizontal line: a bottom border on an empty paragraph indented
    from both sides."""
    p = cell.add_paragraph()
    side = Mm(max((column_mm - width_mm) / 2, 0))
    p.paragraph_format.left_indent = side
    p.paragraph_format.right_indent = side
    p.paragraph_format.space_after = Pt(6)
    p_pr = p._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"),
                       ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    p_pr.append(borders)
    _run(p, "", 2)


def _no_borders(table: object) -> None:
    tbl_pr = table._tbl.tblPr  # type: ignore[attr-defined]
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _first_text(cell: _Cell) -> Paragraph:
    """The cell's first (empty) paragraph, to write into instead of adding one."""
    first: Paragraph = cell.paragraphs[0]
    return first


def _page_number_header(doc: DocxDocument) -> None:
    """Page numbers centred in the top margin, none on the first page."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        r = p.add_run()
        r.font.name = FONT
        r.font.size = Pt(HEADER_PT)
        if kind is not None:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            r._r.append(fld)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = str(text)
            r._r.append(instr)


def _header(doc: DocxDocument, letter: Letter) -> None:
    left_mm, right_mm = 70.0, 95.0
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _no_borders(table)
    left, right = table.rows[0].cells
    left.width, right.width = Mm(left_mm), Mm(right_mm)
    p = _first_text(left)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if letter.parent_body:
        _run(p, letter.parent_body, HEADER_PT)
        _para(left, letter.issuing_body, HEADER_PT, bold=True)
    else:
        _run(p, letter.issuing_body, HEADER_PT, bold=True)
    _rule(left, 25, left_mm)
    _para(left, letter.number, HEADER_PT)
    nation, motto = NATION[letter.locale]
    p = _first_text(right)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(p, nation, MOTTO_PT, bold=True)
    _para(right, motto, HEADER_PT + 1, bold=True)
    _rule(right, 60, right_mm)
    _para(right, letter.place_date, HEADER_PT + 1, italic=True)


def _body(doc: DocxDocument, letter: Letter) -> None:
    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    for block in letter.blocks:
        match block.kind:
            case "heading":
                _para(doc, block.text, BODY_PT, bold=True, align=justify, after=6, indent=True)
            case "subheading":
                _para(doc, block.text, BODY_PT, bold=True, align=justify, after=6, indent=True)
            case "paragraph" | "item":
                _para(doc, block.text, BODY_PT, align=justify, after=6, indent=True)
            case "note":
                _para(doc, block.text, BODY_PT, italic=True, align=justify, after=6,
                      indent=True)
            case "table":
                table = doc.add_table(rows=1, cols=len(block.columns))
                table.style = "Table Grid"
                table.alignment = WD_TABLE_ALIGNMENT.CENTER
                for cell, text in zip(table.rows[0].cells, block.columns, strict=True):
                    _run(_first_text(cell), text, TABLE_PT, bold=True)
                    _first_text(cell).alignment = WD_ALIGN_PARAGRAPH.CENTER
                for row in block.rows:
                    cells = table.add_row().cells
                    for cell, text in zip(cells, row, strict=True):
                        _run(_first_text(cell), text, TABLE_PT)
                _para(doc, "", 6)


def _signature(doc: DocxDocument, letter: Letter) -> None:
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    _no_borders(table)
    left, right = table.rows[0].cells
    left.width, right.width = Mm(80), Mm(85)
    p = _first_text(left)
    p.alignment = WD_ALIGN_PARAGRAPH.LEFT
    _run(p, "Nơi nhận:" if letter.locale == "vi" else "Recipients:", NOTE_PT, bold=True,
         italic=True)
    for line in letter.copies:
        _para(left, line, COPIES_PT, align=WD_ALIGN_PARAGRAPH.LEFT)
    p = _first_text(right)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(p, letter.authority, BODY_PT, bold=True)
    _para(right, letter.signer_title, BODY_PT, bold=True)
    for _ in range(4):  # room for the signature and the seal
        _para(right, "", BODY_PT)
    _para(right, letter.signer_name, BODY_PT, bold=True)


def write_docx(letter: Letter, path: Path, as_of: datetime | None = None) -> Path:
    """Write ``letter`` to ``path``; the document's dates (its properties and its zip
    members') are ``as_of``, so that a rebuild writes the same bytes."""
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    _page_number_header(doc)
    _header(doc, letter)
    _para(doc, "", BODY_PT)
    _para(doc, letter.title, BODY_PT, bold=True)
    _para(doc, letter.subject, BODY_PT, bold=True, after=12)
    lead = "Kính gửi: " if letter.locale == "vi" else "To: "
    for i, name in enumerate(letter.addressees):
        _para(doc, (lead if i == 0 else " " * len(lead)) + name, BODY_PT, after=12
              if i == len(letter.addressees) - 1 else 0)
    _body(doc, letter)
    _signature(doc, letter)
    stamp = as_of or datetime.combine(datetime.now().date(), time())
    props = doc.core_properties
    props.title = letter.subject
    props.author = letter.issuing_body
    props.created = props.modified = stamp
    props.last_modified_by = "chiso"
    props.revision = 1
    raw = BytesIO()
    doc.save(raw)
    return write_fixed(raw.getvalue(), path, stamp)
