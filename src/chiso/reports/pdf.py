"""A report as PDF, laid out from the same :class:`Letter` as the DOCX (so its numbers are
the DOCX's numbers): A4, the Nghị định 30 margins, the two-column header with its rules,
page numbers centred in the top margin from page 2, and Liberation Serif (metric-compatible
with Times New Roman, Debian's fonts-liberation2) embedded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from chiso.reports.content import ReportError
from chiso.reports.wording import Letter

# Liberation 2 first: version 1 (fonts-liberation) lacks Vietnamese letters in its italics.
FONT_DIRS = [Path("/usr/share/fonts/truetype/liberation2"),
             Path("/usr/share/fonts/truetype/liberation")]
STYLES = {"": "Regular", "B": "Bold", "I": "Italic", "BI": "BoldItalic"}
FAMILY = "serif"
LEFT, TOP, RIGHT, BOTTOM = 30.0, 20.0, 15.0, 20.0
WIDTH = 210.0 - LEFT - RIGHT
NATION = {"vi": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"),
          "en": ("SOCIALIST REPUBLIC OF VIETNAM", "Independence - Freedom - Happiness")}


def font_files() -> dict[str, Path]:
    """Liberation Serif's four faces; a clear error when the fonts are not installed."""
    for folder in FONT_DIRS:
        faces = {s: folder / f"LiberationSerif-{n}.ttf" for s, n in STYLES.items()}
        if all(p.is_file() for p in faces.values()):
            return faces
    raise ReportError("the PDF needs Liberation Serif: install Debian's fonts-liberation2")


class _Pdf(FPDF):
    def header(self) -> None:
        if self.page_no() > 1:  # page numbers from page 2, centred in the top margin
            self.set_y(10)
            self.set_font(FAMILY, "", 13)
            self.cell(0, 6, str(self.page_no()), align="C")
            self.set_y(TOP)


def _lines(pdf: FPDF, x: float, width: float, lines: list[tuple[str, str, float]],
           rule_after: int | None, rule_mm: float) -> float:
    """Centred lines in a column from the current top; a short rule under line
    ``rule_after``; returns the y below the column."""
    y = pdf.get_y()
    for i, (text, style, size) in enumerate(lines):
        pdf.set_font(FAMILY, style, size)
        pdf.set_xy(x, y)
        pdf.multi_cell(width, 6, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        y = pdf.get_y()
        if rule_after == i:
            mid = x + width / 2
            pdf.line(mid - rule_mm / 2, y + 0.5, mid + rule_mm / 2, y + 0.5)
            y += 2
    return y


def write_pdf(letter: Letter, path: Path, as_of: datetime | None = None) -> Path:
    faces = font_files()
    pdf = _Pdf(format="A4", unit="mm")
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, BOTTOM)
    for style, file in faces.items():
        pdf.add_font(FAMILY, style, str(file))
    if as_of is not None:
        pdf.set_creation_date(as_of.replace(tzinfo=as_of.tzinfo or UTC))
    pdf.set_title(letter.subject)
    pdf.set_author(letter.issuing_body)
    pdf.add_page()
    top = pdf.get_y()
    left_lines: list[tuple[str, str, float]] = [(letter.parent_body, "", 13)] \
        if letter.parent_body else []
    left_lines.append((letter.issuing_body, "B", 13))
    y_left = _lines(pdf, LEFT, 70, left_lines, len(left_lines) - 1, 25)
    pdf.set_xy(LEFT, y_left + 1)
    pdf.set_font(FAMILY, "", 13)
    pdf.cell(70, 6, letter.number, align="C")
    y_left = pdf.get_y() + 6
    pdf.set_y(top)
    nation, motto = NATION[letter.locale]
    y_right = _lines(pdf, LEFT + 70, WIDTH - 70, [(nation, "B", 12), (motto, "B", 13)], 1, 60)
    pdf.set_xy(LEFT + 70, y_right + 1)
    pdf.set_font(FAMILY, "I", 14)
    pdf.cell(WIDTH - 70, 6, letter.place_date, align="C")
    pdf.set_y(max(y_left, pdf.get_y() + 6) + 8)
    pdf.set_font(FAMILY, "B", 14)
    pdf.multi_cell(0, 7, letter.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 7, letter.subject, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FAMILY, "", 14)
    lead = "Kính gửi: " if letter.locale == "vi" else "To: "
    for name in letter.addressees:
        pdf.multi_cell(0, 7, lead + name, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    indent = "\u00a0" * 6  # the first-line indent
    for block in letter.blocks:
        if block.kind == "table":
            pdf.set_font(FAMILY, "", 10)
            # The targets table: room for the threshold's words; other tables share evenly.
            widths = (10, 34, 14, 14, 14, 16) if len(block.columns) == 6 else None
            with pdf.table(line_height=5, text_align="LEFT", col_widths=widths) as table:
                head = table.row()
                for name in block.columns:
                    head.cell(name)
                for values in block.rows:
                    row = table.row()
                    for value in values:
                        row.cell(value)
            pdf.ln(3)
            continue
        style = {"heading": "B", "subheading": "B", "note": "I"}.get(block.kind, "")
        pdf.set_font(FAMILY, style, 14)
        pdf.multi_cell(0, 7, indent + block.text, align="J", new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)
        pdf.ln(1.5)
    pdf.ln(6)
    if pdf.get_y() > 297 - BOTTOM - 60:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_font(FAMILY, "BI", 12)
    pdf.set_xy(LEFT, top)
    pdf.cell(80, 6, "Nơi nhận:" if letter.locale == "vi" else "Recipients:")
    pdf.set_font(FAMILY, "", 11)
    y = top + 6
    for line in letter.copies:
        pdf.set_xy(LEFT, y)
        pdf.multi_cell(80, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        y = pdf.get_y()
    pdf.set_y(top)
    _lines(pdf, LEFT + 80, WIDTH - 80, [(letter.authority, "B", 14),
                                        (letter.signer_title, "B", 14)], None, 0)
    pdf.output(str(path))
    return path
