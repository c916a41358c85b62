"""Sheets: the bytes of an uploaded file read into rows of cells, whatever program wrote them.

Agencies upload what their systems' "export" buttons write, so the format is recognised from
the bytes first and the file name second:

- **XLSX / XLSM** (a zip): refused as a bomb or for a DTD before anything large is inflated,
  then read with openpyxl (which parses through defusedxml). Every row is read whatever the
  sheet's stored size says (template fillers leave it stale); a cell formatted as a
  percentage holds what it shows (0,185 shown as 18,5% is 18.5); a value merged down over
  several rows is each row's (merged across, it stays in its first cell); text is NFC.
  The sheet read is the first visible one whose rows the caller recognises (its header),
  else the first.
- **XLS**, Excel 97–2003's binary workbook: read with xlrd.
- **An HTML table named .xls**, which many web systems write for "Xuất Excel": the largest
  table, with ``colspan``/``rowspan`` laid out as merged cells are in a workbook (the value in
  the first cell, the cells it covers blank).
- **XML Spreadsheet 2003** (SpreadsheetML), parsed with defusedxml.
- **Text** (CSV, TSV): UTF-8 with or without BOM, UTF-16 (Excel's "Unicode Text"), or
  Windows-1258; the separator (comma, semicolon or tab) is the one the first lines use most.

Every reader gives one sheet as a list of rows, each without its trailing blank cells, and
bounds rows, columns and cells the same way (``FileRefusedError`` naming the row).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chiso.intake.settings import IntakeSettings
from chiso.intake.validate import UNCOMPUTED, Problem
from chiso.text import Said, nfc

MAX_ROWS = 200_000
MAX_COLUMNS = 500  # non-blank columns in a row; a real export has a few dozen
MAX_CELL = 131_072  # characters in one cell (the csv module's own limit)
MAX_RATIO = 150  # uncompressed / compressed, per zip entry; real sheets stay well below
MAX_SPAN = 50  # cells one HTML cell may cover across or down; an export merges a few
HEADER_SCAN = 15  # rows searched for the header

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SPREADSHEET_ML = b"urn:schemas-microsoft-com:office:spreadsheet"
_MARKUP = re.compile(rb"^\s*<(!doctype\s+html|html|table|meta|head|body|\?xml|!--)", re.I)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)


class FileRefusedError(ValueError):
    """The file cannot be read at all (hostile, broken, unknown encoding)."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.problem = Problem(-1, field, message, row, column)


class CellTooLongError(ValueError):
    """A text cell over ``MAX_CELL``: the rows read so far let the caller name its field."""

    def __init__(self, rows: list[list[Any]], row: int, column: int | None):
        super().__init__("cell too long")
        self.rows, self.row, self.column = rows, row, column


@dataclass(frozen=True)
class Sheet:
    kind: str  # xlsx | xls | html | xml | csv
    encoding: str | None  # of a text or HTML file
    rows: list[list[Any]]


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


Recognise = Callable[[list[list[Any]]], bool]


def read_sheet(data: bytes, filename: str, settings: IntakeSettings,
               encoding: str | None = None, wanted: Recognise | None = None) -> Sheet:
    """The file's sheet (of a workbook: the first visible one ``wanted`` recognises, else the
    first), or ``FileRefusedError`` saying what to do instead. The bytes decide the format;
    a name ending .xlsx on bytes that are not a zip is read as what the bytes are."""
    lower = filename.lower()
    if data[:4] == b"PK\x03\x04":
        return Sheet("xlsx", None, _xlsx_rows(data, settings, wanted))
    if lower.endswith((".xlsx", ".xlsm")) and data[:2] == b"PK":
        return Sheet("xlsx", None, _xlsx_rows(data, settings, wanted))
    if data[:8] == _OLE2:
        return Sheet("xls", None, _xls_rows(data, wanted))
    wide = _utf16(data)
    head = (data[:4096].decode(wide, errors="ignore").encode() if wide
            else data[:4096].removeprefix(b"\xef\xbb\xbf"))
    if _MARKUP.match(head):
        if _SPREADSHEET_ML in data[:8192]:
            return Sheet("xml", None, _spreadsheet_ml_rows(data))
        text, used = _decode_markup(data, encoding)
        return Sheet("html", used, _html_rows(text))
    if lower.endswith(".xls") and b"\x00" in head and not wide:
        raise FileRefusedError(Said("the .xls file is neither an Excel workbook nor a table; "
                                    "save it as Excel Workbook (.xlsx) or CSV UTF-8"))
    text, used = _decode_text(data, encoding)
    return Sheet("csv", used, _csv_rows(text))


# -- text -----------------------------------------------------------------------------------
def _utf16(data: bytes) -> str | None:
    """``utf-16`` with a byte-order mark; ``utf-16-le``/``-be`` for text whose every other
    byte is zero (what a Unicode text export of Vietnamese in a Latin layout looks like)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:2048]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.6 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.6 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    return None


def _decode_text(data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return nfc(data.decode(encoding)), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise FileRefusedError(Said("the file is not valid %(encoding)s: %(why)s",
                                        encoding=encoding, why=exc)) from exc
    if data.startswith(b"\xef\xbb\xbf"):
        return nfc(data[3:].decode("utf-8", errors="strict")), "utf-8-sig"
    wide = _utf16(data)
    if wide:
        try:
            return nfc(data.decode(wide)), wide
        except UnicodeDecodeError as exc:
            raise FileRefusedError(Said("the file looks like UTF-16 but does not decode; "
                                        "save it as 'CSV UTF-8' and upload again")) from exc
    if b"\x00" in data[:4096]:
        raise FileRefusedError(Said("the file is binary, not a table; save it as Excel "
                                    "Workbook (.xlsx) or 'CSV UTF-8' and upload again"))
    try:
        return nfc(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return nfc(data.decode("cp1258")), "windows-1258"
    except UnicodeDecodeError as exc:
        raise FileRefusedError(Said("the file is neither UTF-8 nor Windows-1258; save it as "
                                    "'CSV UTF-8' and upload again")) from exc


def _csv_rows(text: str) -> list[list[Any]]:
    # The separator is the candidate seen most in the first lines (title rows have none):
    # Excel writes ';' where the decimal mark is a comma, as on Vietnamese Windows.
    head = text[:16384].splitlines()[:20]
    delimiter = max(",;\t", key=lambda d: sum(line.count(d) for line in head))
    rows: list[list[Any]] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:  # the only csv error a decoded text can raise is the size
            line = reader.line_num
            raise CellTooLongError(rows, line, _long_cell(text, line, delimiter)) from exc
        _count(rows)
        rows.append(bounded(row, reader.line_num))


def _long_cell(text: str, line: int, delimiter: str) -> int | None:
    """The column of the over-long cell on ``line`` (1-based), as far as a plain split finds."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    for c, cell in enumerate(lines[line - 1].split(delimiter)):
        if len(cell) > MAX_CELL:
            return c
    return None


def _count(rows: list[list[Any]]) -> None:
    if len(rows) > MAX_ROWS + HEADER_SCAN:
        raise FileRefusedError(Said("more than %(limit)s rows; split the file",
                                    limit=MAX_ROWS))


def bounded(row: list[Any], line: int) -> list[Any]:
    """The row without its trailing blank cells (exports pad rows with separators), refused
    when it still has more than ``MAX_COLUMNS`` cells."""
    end = len(row)
    while end and (row[end - 1] is None or (isinstance(row[end - 1], str)
                                            and not row[end - 1].strip())):
        end -= 1
    if end > MAX_COLUMNS:
        raise FileRefusedError(Said("row %(row)s has %(count)s columns, more than the limit "
                                    "%(limit)s; keep only the report's own columns",
                                    row=line, count=end, limit=MAX_COLUMNS),
                               line, column_letter(MAX_COLUMNS))
    return row[:end]


def _cell_text(value: str, line: int, column: int) -> str:
    if len(value) > MAX_CELL:
        raise FileRefusedError(Said("row %(row)s, column %(column)s: a cell of %(length)s "
                                    "characters, more than the limit %(limit)s", row=line,
                                    column=column_letter(column), length=len(value),
                                    limit=MAX_CELL), line, column_letter(column))
    return nfc(value)


# -- XLSX -----------------------------------------------------------------------------------
def check_zip(data: bytes, settings: IntakeSettings) -> None:
    """Refuse a zip bomb or a DTD-carrying XLSX before inflating anything large."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileRefusedError(Said("not a readable XLSX (broken zip): %(why)s",
                                    why=exc)) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > settings.max_xlsx_entries:
            raise FileRefusedError(Said("the XLSX has %(count)s parts, more than the limit "
                                        "%(limit)s", count=len(infos),
                                        limit=settings.max_xlsx_entries))
        total = sum(i.file_size for i in infos)
        if total > settings.max_xlsx_uncompressed:
            raise FileRefusedError(Said("the XLSX expands to %(size)s bytes, more than the "
                                        "limit %(limit)s", size=total,
                                        limit=settings.max_xlsx_uncompressed))
        for info in infos:
            if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(
                    info.compress_size, 1):
                raise FileRefusedError(Said(
                    "part %(part)s is compressed %(ratio)s:1; refused as a zip bomb",
                    part=info.filename, ratio=info.file_size // max(info.compress_size, 1)))
        if "xl/workbook.xml" not in archive.namelist():
            raise FileRefusedError(Said("not an XLSX workbook (no xl/workbook.xml); save the "
                                        "file as Excel Workbook (.xlsx) or CSV UTF-8"))
        for info in infos:
            if not info.filename.endswith((".xml", ".rels")):
                continue
            with archive.open(info) as part:
                tail = b""
                while chunk := part.read(65536):
                    window = (tail + chunk).upper()
                    if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                        raise FileRefusedError(Said(
                            "part %(part)s declares a DTD or XML entities, which a real XLSX "
                            "never does; refused", part=info.filename))
                    tail = chunk[-16:]


def _xlsx_rows(data: bytes, settings: IntakeSettings,
               wanted: Recognise | None = None) -> list[list[Any]]:
    check_zip(data, settings)
    import openpyxl  # parses XML through defusedxml when installed (it is a dependency)

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken parts
        raise FileRefusedError(Said("not a readable XLSX: %(kind)s: %(why)s",
                                    kind=type(exc).__name__, why=exc)) from exc
    try:
        sheets = [ws for ws in book.worksheets if ws.sheet_state == "visible"] or \
            book.worksheets[:1]
        return _first_recognised(_worksheet_rows(ws, wanted) for ws in sheets)
    finally:
        book.close()


def _first_recognised(read: Iterable[tuple[list[list[Any]], bool]]) -> list[list[Any]]:
    """The rows of the first sheet read whose header the caller recognises (sheets are read
    lazily, one after the other); when none is, the first sheet's first rows, which are all
    the caller looks for a header in (it refuses the file, naming what it expected)."""
    first: list[list[Any]] | None = None
    for rows, known in read:
        if known:
            return rows
        first = rows if first is None else first
    return first or []


def _not_there(wanted: Recognise | None, rows: list[list[Any]]) -> bool:
    """Whether the rows read so far show the header ``wanted`` looks for is not in the sheet
    (asked after ``HEADER_SCAN`` + 1 rows, or at the end of a shorter sheet)."""
    return wanted is not None and not wanted(rows)


def _worksheet_rows(ws: Any, wanted: Recognise | None) -> tuple[list[list[Any]], bool]:
    """The sheet's rows and whether ``wanted`` recognises them; read no further than the
    first ``HEADER_SCAN`` + 1 rows when those show it is not there (a sheet of something
    else is not read on: a small file can hold millions of cells)."""
    ws.reset_dimensions()  # the stored size may be stale: read every row there is
    rows: list[list[Any]] = []
    # One column past the limit is read, so that a row that reaches it is refused; the
    # sheet's declared width (up to 16,384) is never materialised.
    for line, cells in enumerate(ws.iter_rows(max_col=MAX_COLUMNS + 1), start=1):
        _count(rows)
        rows.append(bounded([_xlsx_value(cell, line, c) for c, cell in enumerate(cells)],
                            line))
        if line == HEADER_SCAN + 1 and _not_there(wanted, rows):
            return rows, False
    if len(rows) <= HEADER_SCAN and _not_there(wanted, rows):
        return rows, False
    merged, uncomputed = _sheet_layout(ws)
    for line, col in uncomputed:  # a value-only read took them for blank: they are not
        if line - 1 < len(rows) and col < len(rows[line - 1]) and rows[line - 1][col] is None:
            rows[line - 1][col] = UNCOMPUTED
        elif line - 1 < len(rows) and col >= len(rows[line - 1]):
            rows[line - 1].extend([None] * (col - len(rows[line - 1])) + [UNCOMPUTED])
    for top, col, bottom in merged:
        if top - 1 < len(rows) and col < len(rows[top - 1]):
            value = rows[top - 1][col]
            for r in range(top, min(bottom, len(rows))):
                if col < len(rows[r]) and rows[r][col] is None:
                    rows[r][col] = value
                elif col >= len(rows[r]):
                    rows[r].extend([None] * (col - len(rows[r])) + [value])
    return rows, True


def _xlsx_value(cell: Any, line: int, column: int) -> Any:
    value = cell.value
    if isinstance(value, str):
        return _cell_text(value, line, column)
    if (isinstance(value, int | float) and not isinstance(value, bool)
            and "%" in str(getattr(cell, "number_format", "") or "")):
        return _number(round(value * 100, 10))  # what the cell shows: 0.185 as 18,5%
    return value


_MERGE = re.compile(r"^([A-Z]+)(\d+):([A-Z]+)(\d+)$")


_CELL = re.compile(r"^([A-Z]+)(\d+)$")


def _sheet_layout(ws: Any) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    """From the sheet's XML (read-only sheets expose neither): (first row, column index, last
    row) of each range merged over several rows, and (row, column index) of the cells
    holding a formula with no computed value (programs other than Excel write them so)."""
    from defusedxml.ElementTree import iterparse

    merged: list[tuple[int, int, int]] = []
    uncomputed: list[tuple[int, int]] = []
    with ws._get_source() as source:  # the sheet's XML part; check_zip refused any DTD
        for _event, element in iterparse(source):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "c":
                kids = {k.tag.rsplit("}", 1)[-1]: k for k in element}
                value = kids.get("v")
                at = _CELL.match(element.get("r", ""))
                if "f" in kids and at and (value is None or not (value.text or "").strip()) \
                        and element.get("t") != "str":
                    uncomputed.append((int(at[2]), _column_index(at[1])))
            elif tag == "mergeCell":
                m = _MERGE.match(element.get("ref", ""))
                if m and int(m[4]) > int(m[2]):
                    merged.append((int(m[2]), _column_index(m[1]), int(m[4])))
            elif tag == "row":
                element.clear()  # the cells are read already: keep memory flat
    return merged, uncomputed


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


# -- XLS (Excel 97-2003) ---------------------------------------------------------------------
def _xls_rows(data: bytes, wanted: Recognise | None = None) -> list[list[Any]]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheets = [i for i in range(book.nsheets)
                  if book.sheet_by_index(i).visibility == 0] or [0]
    except Exception as exc:  # xlrd raises its own and struct errors for broken files
        raise FileRefusedError(Said("not a readable Excel 97-2003 workbook: %(why)s; save it "
                                    "as Excel Workbook (.xlsx) and upload again",
                                    why=exc)) from exc
    try:
        return _first_recognised(_xls_sheet(book, book.sheet_by_index(i), wanted)
                                 for i in sheets)
    finally:
        book.release_resources()


def _xls_sheet(book: Any, sheet: Any, wanted: Recognise | None) -> tuple[list[list[Any]], bool]:
    import xlrd

    rows: list[list[Any]] = []
    for r in range(sheet.nrows):
        _count(rows)
        width = min(sheet.row_len(r), MAX_COLUMNS + 1)
        row: list[Any] = []
        for c in range(width):
            cell = sheet.cell(r, c)
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                    row.append(cell.value)
            elif cell.ctype == xlrd.XL_CELL_NUMBER:
                row.append(_number(cell.value))
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                row.append(bool(cell.value))
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                row.append(None)
            else:
                row.append(_cell_text(str(cell.value), r + 1, c))
        rows.append(bounded(row, r + 1))
        if r + 1 == HEADER_SCAN + 1 and _not_there(wanted, rows):
            return rows, False
    if len(rows) <= HEADER_SCAN and _not_there(wanted, rows):
        return rows, False
    return rows, True


def _number(value: float) -> int | float:
    """A binary workbook stores every number as a float: 3.0 is the integer 3."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


# -- HTML tables ----------------------------------------------------------------------------
def _decode_markup(data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is None and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        declared = _CHARSET.search(data[:4096])
        if declared:
            encoding = declared.group(1).decode("ascii").lower()
    try:
        return _decode_text(data, encoding)
    except FileRefusedError:
        if encoding is None:
            raise
        return _decode_text(data, None)  # a wrong declaration: read it as the bytes say


def _html_rows(text: str) -> list[list[Any]]:
    """The largest table's rows, read as a stream (the page is never held as a tree); a cell
    spanning several columns or rows keeps its text in its first cell and leaves the others
    blank, as a workbook's merged cells do. A table inside a cell is a table of its own."""
    from lxml import etree

    text = _XML_DECLARATION.sub("", text, count=1)
    tables: list[list[list[Any]]] = []
    open_tables: list[_HtmlTable] = []
    events = etree.iterparse(io.BytesIO(text.encode("utf-8")), events=("start", "end"),
                             tag=("table", "tr", "td", "th"), html=True, encoding="utf-8",
                             no_network=True, remove_comments=True, remove_pis=True,
                             huge_tree=False)
    try:
        for event, element in events:
            if element.tag == "table":
                if event == "start":
                    open_tables.append(_HtmlTable())
                elif open_tables:
                    tables.append(open_tables.pop().rows)
            elif not open_tables:
                continue
            elif element.tag == "tr":
                if event == "start":
                    open_tables[-1].start_row()
                else:
                    open_tables[-1].end_row()
                    element.clear(keep_tail=True)
            elif event == "end":  # td, th
                open_tables[-1].cell(" ".join(element.xpath("string()").split()),
                                     element.get("colspan"), element.get("rowspan"))
    except etree.LxmlError as exc:
        raise FileRefusedError(Said("the file is not a readable HTML table: %(why)s",
                                    why=exc)) from exc
    tables.extend(t.rows for t in open_tables)  # tables the page never closed
    if not any(tables):
        raise FileRefusedError(Said("the file is a web page without a table; export the data "
                                    "as Excel Workbook (.xlsx) or CSV UTF-8"))
    return max(tables, key=len)


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


class _HtmlTable:
    """Rows of one HTML table as they stream in, spans laid out as merged cells."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.row: list[Any] | None = None
        self.covered: dict[int, set[int]] = {}  # row index -> columns a rowspan covers

    def start_row(self) -> None:
        _count(self.rows)
        self.row = []

    def _skip_covered(self) -> None:
        assert self.row is not None
        below = self.covered.get(len(self.rows), set())
        while len(self.row) in below:
            self.row.append(None)

    def cell(self, text: str, colspan: str | None, rowspan: str | None) -> None:
        if self.row is None:  # a cell outside any row: browsers open one
            self.start_row()
        assert self.row is not None
        if len(self.row) > MAX_COLUMNS:
            return
        self._skip_covered()
        line, column = len(self.rows) + 1, len(self.row)
        across, down = _span(colspan), _span(rowspan)
        self.row.append(_cell_text(text, line, column) or None)
        self.row.extend([None] * (across - 1))
        for below in range(len(self.rows) + 1, len(self.rows) + down):
            self.covered.setdefault(below, set()).update(
                range(column, min(column + across, MAX_COLUMNS + 1)))

    def end_row(self) -> None:
        if self.row is None:
            return
        self._skip_covered()
        self.covered.pop(len(self.rows), None)
        self.rows.append(bounded(self.row, len(self.rows) + 1))
        self.row = None


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), MAX_SPAN))
    except ValueError:
        return 1


# -- XML Spreadsheet 2003 ----------------------------------------------------------------------
_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"


def _spreadsheet_ml_rows(data: bytes) -> list[list[Any]]:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise FileRefusedError(Said("not a readable XML Spreadsheet: %(why)s; save it as "
                                    "Excel Workbook (.xlsx)", why=exc)) from exc
    table = root.find(f"{_SS}Worksheet/{_SS}Table")
    rows: list[list[Any]] = []
    if table is None:
        return rows
    for element in table.iter(f"{_SS}Row"):
        index = element.get(f"{_SS}Index")
        while index and index.isdigit() and len(rows) < min(int(index) - 1, MAX_ROWS + 1):
            rows.append([])
        _count(rows)
        row: list[Any] = []
        for cell in element.iter(f"{_SS}Cell"):
            at = cell.get(f"{_SS}Index")
            if at and at.isdigit():
                row.extend([None] * max(0, min(int(at), MAX_COLUMNS + 1) - 1 - len(row)))
            data_element = cell.find(f"{_SS}Data")
            row.append(_ml_value(data_element, len(rows) + 1, len(row)))
            across = cell.get(f"{_SS}MergeAcross") or "0"  # the cells after the first
            row.extend([None] * (min(int(across), MAX_SPAN) if across.isdigit() else 0))
            if len(row) > MAX_COLUMNS + 1:
                break
        rows.append(bounded(row, len(rows) + 1))
    return rows


def _ml_value(element: Any, line: int, column: int) -> Any:
    if element is None:
        return None
    text = "".join(element.itertext())
    kind = element.get(f"{_SS}Type")
    if kind == "Number":
        try:
            return _number(float(text))
        except ValueError:
            return text
    if kind == "DateTime":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return text
    if kind == "Boolean":
        return text.strip() == "1"
    return _cell_text(text, line, column) or None
