"""Agency files in the messy forms they really come in, and hostile ones.

CSV and XLSX built from records; and reports as office systems export them (the issuing body
and title above, an "STT" column, records grouped under headings, a totals row, the date line
and signatures below), written as XLSX, Excel 97-2003 (XLS), an HTML table named .xls, XML
Spreadsheet 2003, UTF-16 text and CSV.

Used by the tests and the demo to exercise chiso's file door. Everything is generated from
records (dicts of contract fields) at run time; nothing binary is committed.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")

# Vietnamese headers as agencies write them (tone marks, capitals), per feed.
DOSSIER_HEADERS = {
    "id": "Mã hồ sơ", "unit": "Mã đơn vị", "procedure": "Mã thủ tục",
    "received_at": "Ngày tiếp nhận", "due_at": "Ngày hẹn trả", "resolved_at": "Ngày hoàn thành",
    "status": "Trạng thái", "channel": "Kênh nộp", "fully_online": "Toàn trình",
    "supplement_requests": "Số lần bổ sung", "supplement_days": "Số ngày chờ bổ sung",
    "result_electronic": "Kết quả điện tử", "paid_online": "Thanh toán trực tuyến",
    "components_total": "Số thành phần", "components_reused": "Thành phần tái sử dụng",
    "applicant_name": "Họ tên người nộp", "updated_at": "Ngày cập nhật",
}
STATUS_VI = {"received": "Mới tiếp nhận", "processing": "Đang xử lý",
             "supplement": "Chờ bổ sung", "resolved": "Đã giải quyết", "rejected": "Từ chối",
             "withdrawn": "Rút hồ sơ"}
CHANNEL_VI = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính"}

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letters (â, ê, ô, ơ, ư, ă, đ)
    precomposed, tone marks as separate combining characters."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in _TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        out += (base + tones).encode("cp1258")
    return bytes(out)


def _vn_datetime(value: Any) -> str:
    if value in (None, ""):
        return ""
    dt = datetime.fromisoformat(str(value)).astimezone(VN)
    if dt.hour == 0 and dt.minute == 0:
        return dt.strftime("%d/%m/%Y")
    return dt.strftime("%d/%m/%Y %H:%M")


def _vn_number(value: Any) -> str:
    if value in (None, ""):
        return ""
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}".replace(",", ".")
    whole, frac = f"{number:,.2f}".split(".")
    return whole.replace(",", ".") + "," + frac.rstrip("0")


def _vn_bool(value: Any) -> str:
    return "" if value is None else ("Có" if value else "Không")


def dossier_cells(record: dict[str, Any], fields: Sequence[str]) -> list[str]:
    """One dossier as a Vietnamese spreadsheet row (text cells)."""
    cells = []
    for f in fields:
        v = record.get(f)
        if f.endswith("_at"):
            cells.append(_vn_datetime(v))
        elif f == "status":
            cells.append(STATUS_VI.get(str(v), str(v)))
        elif f == "channel":
            cells.append(CHANNEL_VI.get(str(v), str(v)))
        elif isinstance(v, bool) or f in ("fully_online", "result_electronic", "paid_online"):
            cells.append(_vn_bool(v))
        elif isinstance(v, int | float):
            cells.append(_vn_number(v))
        else:
            cells.append("" if v is None else str(v))
    return cells


def dossier_csv(records: Sequence[dict[str, Any]], *, encoding: str = "utf-8",
                delimiter: str = ",", title: bool = True,
                fields: Sequence[str] | None = None) -> bytes:
    """A dossier CSV: ``encoding`` is utf-8, utf-8-sig (with BOM) or cp1258."""
    fields = list(fields or [f for f in DOSSIER_HEADERS if f != "unit"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if title:
        writer.writerow(["BÁO CÁO HỒ SƠ THỦ TỤC HÀNH CHÍNH"])
        writer.writerow([])
    writer.writerow([DOSSIER_HEADERS[f] for f in fields])
    for record in records:
        writer.writerow(dossier_cells(record, fields))
    text = buffer.getvalue()
    if encoding == "cp1258":
        return encode_cp1258(text)
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def dossier_xlsx(records: Sequence[dict[str, Any]], *, two_header_rows: bool = True,
                 typed_cells: bool = True) -> bytes:
    """A dossier workbook: a title row, then either one header row or two header rows with
    merged cells (group headings over columns, single headings merged vertically)."""
    from openpyxl import Workbook

    fields = [f for f in DOSSIER_HEADERS if f != "unit"]
    groups = {"received_at": "Thời gian", "due_at": "Thời gian", "resolved_at": "Thời gian",
              "components_total": "Thành phần hồ sơ", "components_reused": "Thành phần hồ sơ"}
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Hồ sơ"
    sheet.cell(1, 1, "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    first = 3
    if two_header_rows:
        col = 1
        while col <= len(fields):
            f = fields[col - 1]
            group = groups.get(f)
            if group is None:
                sheet.cell(first, col, DOSSIER_HEADERS[f])
                sheet.merge_cells(start_row=first, start_column=col, end_row=first + 1,
                                  end_column=col)
                col += 1
                continue
            span = [i for i in range(col, len(fields) + 1) if groups.get(fields[i - 1]) == group]
            last = span[-1]
            sheet.cell(first, col, group)
            sheet.merge_cells(start_row=first, start_column=col, end_row=first, end_column=last)
            for i in span:
                label = DOSSIER_HEADERS[fields[i - 1]]
                sheet.cell(first + 1, i, label.replace("Ngày ", "").capitalize()
                           if group == "Thời gian" else label)
            col = last + 1
        data_row = first + 2
    else:
        for col, f in enumerate(fields, start=1):
            sheet.cell(first, col, DOSSIER_HEADERS[f])
        data_row = first + 1
    for r, record in enumerate(records):
        cells = dossier_cells(record, fields)
        for c, f in enumerate(fields):
            value: Any = cells[c]
            v = record.get(f)
            if typed_cells and f.endswith("_at") and v:
                value = datetime.fromisoformat(str(v)).astimezone(VN).replace(tzinfo=None)
            elif typed_cells and isinstance(v, int | float) and not isinstance(v, bool):
                value = v
            sheet.cell(data_row + r, c + 1, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_TIME_GROUP = ("received_at", "due_at", "resolved_at")


def office_report(records: Sequence[dict[str, Any]], *, unit_name: str = "UBND PHƯỜNG HOÀN KIẾM",
                  ) -> tuple[list[list[Any]], list[list[Any]], list[str]]:
    """A dossier report as an office system lays it out: (rows above and including the two
    header rows, the body rows, the fields of the columns after "STT"). The body groups the
    records by channel under "I. …" headings, then a totals row, a blank row, the date line
    and the signatures. Cells hold Vietnamese text as the export shows it; dates, numbers
    and booleans are typed (``datetime``, ``int``/``float``, ``bool``) for formats that keep
    types."""
    fields = [f for f in DOSSIER_HEADERS if f not in ("unit", "applicant_name")]
    top = [["", unit_name], ["", "BÁO CÁO TÌNH HÌNH TIẾP NHẬN VÀ GIẢI QUYẾT HỒ SƠ"],
           ["", "(Kèm theo Báo cáo số     /BC-UBND)"], []]
    first = ["STT"] + [("Thời gian" if f in _TIME_GROUP else DOSSIER_HEADERS[f]) for f in fields]
    second = [None] + [(DOSSIER_HEADERS[f] if f in _TIME_GROUP else None) for f in fields]
    body: list[list[Any]] = []
    number = 0
    for roman, channel in (("I", "online"), ("II", "direct"), ("III", "postal")):
        chosen = [r for r in records if r.get("channel") == channel]
        if not chosen:
            continue
        body.append([roman, f"{roman}. Hồ sơ nộp {CHANNEL_VI[channel].lower()}"])
        for record in chosen:
            number += 1
            cells = dossier_cells(record, fields)
            typed: list[Any] = [number]
            for f, cell in zip(fields, cells, strict=True):
                v = record.get(f)
                if f.endswith("_at") and v:
                    typed.append(datetime.fromisoformat(str(v)).astimezone(VN)
                                 .replace(tzinfo=None))
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    typed.append(v)
                else:
                    typed.append(cell)
            body.append(typed)
    total = ["", f"Tổng cộng: {number} hồ sơ"] + [None] * (len(fields) - 1)
    total[1 + fields.index("components_total")] = sum(
        int(r.get("components_total") or 0) for r in records)
    body += [total, [],
             [None] * (len(fields) - 3) + ["Hà Nội, ngày 01 tháng 12 năm 2026"],
             ["", "NGƯỜI LẬP BIỂU"] + [None] * (len(fields) - 5) + ["THỦ TRƯỞNG ĐƠN VỊ"],
             ["", "(Ký, ghi rõ họ tên)"] + [None] * (len(fields) - 5) + ["(Ký tên, đóng dấu)"]]
    return [*top, first, second], body, fields


def _as_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.strftime("%d/%m/%Y %H:%M") if (cell.hour, cell.minute) != (0, 0) \
            else cell.strftime("%d/%m/%Y")
    if isinstance(cell, bool):
        return _vn_bool(cell)
    if isinstance(cell, int | float):
        return _vn_number(cell)
    return str(cell)


def office_xls(records: Sequence[dict[str, Any]]) -> bytes:
    """The report as an Excel 97-2003 workbook (BIFF8) with merged header cells and typed
    dates and numbers."""
    import xlwt

    head, body, fields = office_report(records)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Bao cao")
    dated = xlwt.easyxf(num_format_str="dd/mm/yyyy hh:mm")
    header_at = len(head) - 2
    for r, row in enumerate(head[:header_at]):
        for c, cell in enumerate(row):
            if cell not in (None, ""):
                sheet.write(r, c, cell)
    groups = [c for c, f in enumerate(fields, start=1) if f in _TIME_GROUP]
    for c, cell in enumerate(head[header_at]):
        if c in groups[1:]:
            continue
        if c == groups[0]:
            sheet.write_merge(header_at, header_at, c, groups[-1], cell)
        else:
            sheet.write_merge(header_at, header_at + 1, c, c, cell)
    for c in groups:
        sheet.write(header_at + 1, c, head[header_at + 1][c])
    for r, row in enumerate(body, start=len(head)):
        for c, cell in enumerate(row):
            if isinstance(cell, datetime):
                sheet.write(r, c, cell, dated)
            elif cell not in (None, ""):
                sheet.write(r, c, cell)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def office_html_xls(records: Sequence[dict[str, Any]], *, charset: str = "utf-8") -> bytes:
    """The report as the HTML table many web systems save as "BaoCao.xls": the header's
    group and single headings laid out with ``colspan`` and ``rowspan``; ``charset`` is
    utf-8 or windows-1258 (declared in the page's meta tag)."""
    from html import escape

    head, body, fields = office_report(records)
    header_at = len(head) - 2
    groups = [c for c, f in enumerate(fields, start=1) if f in _TIME_GROUP]
    lines = [f'<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head>'
             f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
             "</head><body>"]
    lines += [f"<div><b>{escape(str(row[1]))}</b></div>" for row in head[:header_at] if row]
    lines.append('<table border="1"><thead><tr>')
    for c, cell in enumerate(head[header_at]):
        if c == groups[0]:
            lines.append(f'<th colspan="{len(groups)}">{escape(str(cell))}</th>')
        elif c not in groups:
            lines.append(f'<th rowspan="2">{escape(str(cell))}</th>')
    lines.append("</tr><tr>")
    lines += [f"<th>{escape(str(head[header_at + 1][c]))}</th>" for c in groups]
    lines.append("</tr></thead><tbody>")
    for row in body:
        if len(row) == 2:  # a group heading spans the table
            lines.append(f'<tr><td>{escape(str(row[0]))}</td><td colspan="{len(fields)}">'
                         f"<b>{escape(str(row[1]))}</b></td></tr>")
            continue
        lines.append("<tr>" + "".join(f"<td>{escape(_as_text(cell))}</td>" for cell in row)
                     + "</tr>")
    lines.append("</tbody></table></body></html>")
    text = "\n".join(lines)
    return encode_cp1258(text) if charset == "windows-1258" else text.encode(charset)


def office_spreadsheet_ml(records: Sequence[dict[str, Any]]) -> bytes:
    """The report as XML Spreadsheet 2003 (what older reporting tools write as .xml or .xls)."""
    from html import escape

    head, body, _fields = office_report(records)
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<?mso-application progid="Excel.Sheet"?>',
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">',
           '<Worksheet ss:Name="Bao cao"><Table>']
    for row in [*head, *body]:
        out.append("<Row>")
        for c, cell in enumerate(row, start=1):
            if cell in (None, ""):
                continue
            if isinstance(cell, datetime):
                kind, text = "DateTime", cell.isoformat()
            elif isinstance(cell, bool):
                kind, text = "Boolean", "1" if cell else "0"
            elif isinstance(cell, int | float):
                kind, text = "Number", str(cell)
            else:
                kind, text = "String", escape(str(cell))
            out.append(f'<Cell ss:Index="{c}"><Data ss:Type="{kind}">{text}</Data></Cell>')
        out.append("</Row>")
    out.append("</Table></Worksheet></Workbook>")
    return "\n".join(out).encode("utf-8")


def office_text(records: Sequence[dict[str, Any]], *, encoding: str = "utf-16",
                delimiter: str = "\t") -> bytes:
    """The report as text: Excel's "Unicode Text" (UTF-16, tab-separated) by default, or a
    CSV (``encoding="utf-8"``, ``delimiter=","``)."""
    head, body, _fields = office_report(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in [*head, *body]:
        writer.writerow([_as_text(cell) for cell in row])
    return buffer.getvalue().encode(encoding)


def office_xlsx(records: Sequence[dict[str, Any]]) -> bytes:
    """The report as an XLSX workbook with merged header cells."""
    from openpyxl import Workbook

    head, body, fields = office_report(records)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    header_at = len(head) - 2
    for r, row in enumerate([*head, *body], start=1):
        for c, cell in enumerate(row, start=1):
            if cell not in (None, ""):
                sheet.cell(r, c, cell)
    groups = [c + 1 for c, f in enumerate(fields, start=1) if f in _TIME_GROUP]
    sheet.merge_cells(start_row=header_at + 1, start_column=groups[0], end_row=header_at + 1,
                      end_column=groups[-1])
    for c in range(1, len(fields) + 2):
        if c not in groups:
            sheet.merge_cells(start_row=header_at + 1, start_column=c, end_row=header_at + 2,
                              end_column=c)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bomb(uncompressed_mb: int = 50) -> bytes:
    """An 'XLSX' whose sheet inflates to ``uncompressed_mb`` MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        chunk = b"0" * (1024 * 1024)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for _ in range(uncompressed_mb):
                part.write(chunk)
    return buffer.getvalue()


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<worksheet><sheetData><row><c t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>
</worksheet>"""


def billion_laughs_xlsx(records: Sequence[dict[str, Any]] = ()) -> bytes:
    """A real workbook whose first sheet is replaced by an entity-expansion bomb."""
    good = dossier_xlsx(list(records), two_header_rows=False)
    src = zipfile.ZipFile(io.BytesIO(good))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = BILLION_LAUGHS.encode()
            z.writestr(info.filename, data)
    return buffer.getvalue()


def contract_csv_chunks(records: Iterable[dict[str, Any]], fields: Sequence[str],
                        rows_per_chunk: int = 20_000) -> Iterator[bytes]:
    """Records as a plain CSV (contract field names as header, ISO times), streamed in chunks:
    the input of chiso's bulk backfill and of the raw COPY baseline."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    for n, record in enumerate(records, start=1):
        writer.writerow(["" if record.get(f) is None else record[f] for f in fields])
        if n % rows_per_chunk == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
