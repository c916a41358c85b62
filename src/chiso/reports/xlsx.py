"""A report's XLSX annex: Phụ lục 01 (targets) and Phụ lục 02 (tasks) of the plan, column
by column as the plan prints them, with the report's current value, status, forecast and
evidence of each row, and Phụ lục 03, every unit's feed that was incomplete or late; numbers
as numbers in Vietnamese formats, frozen headers, filters, A4 landscape print set-up with the
header rows repeated."""

from __future__ import annotations

import math
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from chiso.catalog.loader import Catalog
from chiso.exports.zipped import write_fixed
from chiso.reports.content import ReportData, TargetLine

FONT = "Times New Roman"
# Numbers shown the Vietnamese way (1.234,5) whatever the reader's Excel locale: vi-VN (042A).
NUMBER = "[$-42A]#,##0.0"
PERCENT = "[$-42A]0.0%"
STATES_VI = {"done_on_time": "Hoàn thành đúng hạn", "done_late": "Hoàn thành chậm",
             "overdue": "Quá hạn", "open": "Đang thực hiện",
             "undated": "Thường xuyên/theo lộ trình"}

TARGET_COLUMNS = [
    ("TT", 6), ("Chi tiết", 9), ("Mục tiêu", 60),
    ("Đơn vị chủ trì theo dõi, hướng dẫn, tổng hợp", 22), ("Đơn vị chủ trì thực hiện", 22),
    ("Đơn vị phối hợp", 22), ("Căn cứ", 22), ("Giá trị hiện tại", 12), ("Ngưỡng", 10),
    ("Tình trạng", 14), ("Dự báo đến hạn", 12), ("Minh chứng", 40)]
TASK_COLUMNS = [
    ("TT", 6), ("Chi tiết", 12), ("Tên nhóm nhiệm vụ/nhiệm vụ", 60), ("Đơn vị chủ trì", 22),
    ("Đơn vị phối hợp", 22), ("Thời hạn hoàn thành", 14), ("Kết quả cần đạt (Định lượng)", 40),
    ("Sản phẩm đầu ra", 30), ("Tình trạng", 18), ("Minh chứng", 10)]
GAP_COLUMNS = [
    ("TT", 6), ("Mã đơn vị", 10), ("Đơn vị", 40), ("Luồng dữ liệu", 20), ("Mức đầy đủ", 12),
    ("Đúng hạn", 12), ("Số bản ghi", 12)]
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _sheet(ws: Worksheet, title: str, subtitle: str, columns: list[tuple[str, int]]) -> None:
    ws.append([title])
    ws.append([subtitle])
    ws.append([name for name, _ in columns])
    for row in (1, 2):
        ws.cell(row, 1).font = Font(name=FONT, bold=row == 1, italic=row == 2, size=13)
    for i, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
        cell = ws.cell(3, i)
        cell.font = Font(name=FONT, bold=True, size=12)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BOX
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    footer = ws.oddFooter
    if footer is not None:
        footer.center.text = "&P/&N"


BODY = "chiso body"  # the body cells' named style: one style record, not one per cell


def _finish(ws: Worksheet, columns: int) -> None:
    last = ws.max_row
    ws.auto_filter.ref = f"A3:{get_column_letter(columns)}{max(last, 3)}"
    wb = ws.parent
    assert wb is not None  # a sheet made by Workbook.create_sheet has its workbook
    if BODY not in wb.named_styles:
        wb.add_named_style(NamedStyle(name=BODY, font=Font(name=FONT, size=12), border=BOX,
                                      alignment=Alignment(vertical="top", wrap_text=True)))
    for row in ws.iter_rows(min_row=4, max_row=last):
        for cell in row:
            fmt = cell.number_format  # the named style would reset it
            cell.style = BODY
            if fmt != "General":
                cell.number_format = fmt
    _fit_heights(ws, 3, last)


def _fit_heights(ws: Worksheet, first: int, last: int) -> None:
    """Give each row the height its wrapped text needs: a row without one is drawn one line
    high by some programs (and printed so), its text running over the rows below."""
    widths = {letter: dim.width or 8.43 for letter, dim in ws.column_dimensions.items()}
    for number, row in enumerate(ws.iter_rows(min_row=first, max_row=last), start=first):
        lines = 1
        for cell in row:
            if not isinstance(cell.value, str) or not cell.value:
                continue
            # a width unit holds about 1,4 letters of 12 pt Times New Roman in running text
            room = max(1.0, widths.get(cell.column_letter, 8.43) * 1.4)
            lines = max(lines, sum(max(1, math.ceil(len(part) / room))
                                   for part in cell.value.split("\n")))
        ws.row_dimensions[number].height = min(409.0, 16.0 * lines)


def _measure(line: TargetLine, value: float | None) -> tuple[float | None, str]:
    """The value as the cell holds it (percentages as fractions) and its number format."""
    if value is None:
        return None, NUMBER
    if line.outlook.unit_of_measure == "%":
        return value / 100, PERCENT
    return value, NUMBER


def write_xlsx(data: ReportData, catalog: Catalog, path: Path,
               as_of: datetime | None = None) -> Path:
    """Write the annex of ``data`` to ``path``: one row per target of Phụ lục 01 and per
    task row of Phụ lục 02 that the report covers, one per feed gap in Phụ lục 03."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Phụ lục 01"
    stamp = f"Số liệu tính đến hết ngày {data.as_of:%d/%m/%Y} - {data.unit_name_vi}"
    _sheet(ws, "DANH MỤC CÁC CHỈ TIÊU CỤ THỂ", stamp, TARGET_COLUMNS)
    for plan in data.plans:
        entry = catalog.plans[plan]
        by_id = {t.id: t for t in entry.targets}
        for line in data.targets:
            if line.plan != plan or line.row is None:
                continue
            t, o = by_id[line.target], line.outlook
            value, fmt = _measure(line, o.latest.value if o.latest else None)
            threshold, tfmt = _measure(line, o.threshold)
            forecast = o.forecast.value if o.forecast is not None else None
            fvalue, ffmt = _measure(line, forecast)
            evidence = f"{o.indicator} ({o.level})" if o.indicator else \
                f"Chưa có nguồn dữ liệu: {o.awaiting_data}"
            if o.note:  # the binding's caveats travel with the value
                evidence += f"; ghi chú: {o.note_vi or o.note}"
            ws.append([t.row, t.id, t.text, ", ".join(t.tracking), ", ".join(t.implementing),
                       ", ".join(t.coordinating), t.basis or "", value, threshold,
                       o.status or "chưa có nguồn dữ liệu", fvalue, evidence])
            r = ws.max_row
            ws.cell(r, 8).number_format, ws.cell(r, 9).number_format = fmt, tfmt
            ws.cell(r, 11).number_format = ffmt
    _finish(ws, len(TARGET_COLUMNS))
    ws2 = wb.create_sheet("Phụ lục 02")
    _sheet(ws2, "DANH MỤC CÁC NHIỆM VỤ, GIẢI PHÁP", stamp, TASK_COLUMNS)
    states = {(s.plan, s.task): s for s in data.tasks.states}
    for plan in data.plans:
        for task in catalog.plans[plan].tasks:
            state = states.get((plan, task.id))
            if task.section != "appendix" or state is None:
                continue
            ws2.append([task.row, task.group.removeprefix("PL02."), task.title,
                        ", ".join(task.lead), ", ".join(task.coordinating),
                        task.deadline_text or "", task.expected_result or "", task.output or "",
                        STATES_VI[state.state], state.evidence])
    _finish(ws2, len(TASK_COLUMNS))
    ws3 = wb.create_sheet("Phụ lục 03")
    _sheet(ws3, "TRÁCH NHIỆM CUNG CẤP DỮ LIỆU: ĐƠN VỊ GỬI DỮ LIỆU CHƯA ĐẦY ĐỦ HOẶC CHẬM",
           stamp, GAP_COLUMNS)
    for i, gap in enumerate(data.gaps, start=1):
        ws3.append([i, gap.unit, gap.unit_name, gap.feed, gap.completeness,
                    gap.on_time_share, gap.records])
        r = ws3.max_row
        ws3.cell(r, 5).number_format = ws3.cell(r, 6).number_format = PERCENT
        ws3.cell(r, 7).number_format = "[$-42A]#,##0"
    _finish(ws3, len(GAP_COLUMNS))
    wb.properties.creator = "chiso"
    if as_of is None:
        wb.save(str(path))
        return path
    wb.properties.created = wb.properties.modified = as_of
    raw = BytesIO()
    # ExcelWriter, not Workbook.save: that sets the modified time to now
    ExcelWriter(wb, ZipFile(raw, "w", ZIP_DEFLATED, allowZip64=True)).save()
    return write_fixed(raw.getvalue(), path, as_of)
