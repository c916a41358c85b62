"""File door: CSV and XLSX as agencies really produce them, read into the one validation path.

What is accepted: UTF-8 with or without BOM and Windows-1258 (CSV), comma / semicolon / tab
separators, dd/mm/yyyy dates, decimal comma with dot thousands, Vietnamese headers (matched
to contract fields ignoring tone marks and case), title rows above the header, and two header
rows with merged cells. Problems name the row number the user sees in the spreadsheet and the
column (letter and header).

Hostile files are refused before any expensive work: the byte size is checked first; for an
XLSX (a zip) the central directory is read and the entry count, the declared uncompressed
size and the compression ratio are checked before a single entry is inflated; every XML part
is scanned (bounded, streaming) for a DTD, which a real XLSX never has, so that entity
expansion ("billion laughs") is refused outright; openpyxl then parses through defusedxml.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chiso.catalog.feeds import Contract
from chiso.intake.proposals import propose
from chiso.intake.settings import IntakeSettings
from chiso.intake.validate import Problem
from chiso.text import fold, nfc

MAX_ROWS = 200_000
MAX_COLUMNS = 500  # non-blank columns in a row; a real export has a few dozen
MAX_CELL = 131_072  # characters in one CSV cell (the csv module's own limit)
MAX_RATIO = 150  # uncompressed / compressed, per zip entry; real sheets stay well below
HEADER_SCAN = 15  # rows searched for the header


class FileRefusedError(ValueError):
    """The file cannot be read at all (hostile, broken, unknown encoding)."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.problem = Problem(-1, field, message, row, column)


class _CellTooLongError(ValueError):
    """A CSV cell over ``MAX_CELL``: the rows read so far let the caller name its field."""

    def __init__(self, rows: list[list[Any]], row: int, column: int | None):
        super().__init__("cell too long")
        self.rows, self.row, self.column = rows, row, column


@dataclass(frozen=True)
class HeadingProposal:
    """A column no field reads, and the field chiso proposes for it (None: no likely one)."""

    column: str  # letter
    heading: str
    field: str | None
    score: int  # 0-100


@dataclass
class ParsedFile:
    kind: str  # csv | xlsx
    encoding: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # spreadsheet row number of each record
    columns: dict[str, str] = field(default_factory=dict)  # field -> "C (Ngày tiếp nhận)"
    header_problems: list[Problem] = field(default_factory=list)
    table: list[list[Any]] = field(default_factory=list)  # every cell, for redacted archive
    personal_columns: list[int] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # "H (Ghi chú)": read by no field
    unmapped_columns: list[int] = field(default_factory=list)
    proposals: list[HeadingProposal] = field(default_factory=list)
    read: list[HeadingProposal] = field(default_factory=list)  # mapped columns (score 100)

    def locate(self) -> Callable[[int, str | None], tuple[int | None, str | None]]:
        def where(index: int, name: str | None) -> tuple[int | None, str | None]:
            return self.rows[index], self.columns.get(name) if name else None

        return where


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# -- byte-level readers ------------------------------------------------------------------
def _decode_csv(data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return nfc(data.decode(encoding)), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise FileRefusedError(f"the file is not valid {encoding}: {exc}") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        return nfc(data[3:].decode("utf-8", errors="strict")), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise FileRefusedError("the file is UTF-16 or binary; save it as 'CSV UTF-8' "
                               "(or Windows-1258 CSV) and upload again")
    try:
        return nfc(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return nfc(data.decode("cp1258")), "windows-1258"
    except UnicodeDecodeError as exc:
        raise FileRefusedError("the file is neither UTF-8 nor Windows-1258; save it as "
                               "'CSV UTF-8' and upload again") from exc


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
            raise _CellTooLongError(rows, line, _long_cell(text, line, delimiter)) from exc
        if len(rows) > MAX_ROWS + HEADER_SCAN:
            raise FileRefusedError(f"more than {MAX_ROWS} rows; split the file")
        rows.append(_bounded(row, reader.line_num))


def _long_cell(text: str, line: int, delimiter: str) -> int | None:
    """The column of the over-long cell on ``line`` (1-based), as far as a plain split finds."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    for c, cell in enumerate(lines[line - 1].split(delimiter)):
        if len(cell) > MAX_CELL:
            return c
    return None


def _bounded(row: list[Any], line: int) -> list[Any]:
    """The row without its trailing blank cells (exports pad rows with separators), refused
    when it still has more than ``MAX_COLUMNS`` cells."""
    end = len(row)
    while end and (row[end - 1] is None or (isinstance(row[end - 1], str)
                                            and not row[end - 1].strip())):
        end -= 1
    if end > MAX_COLUMNS:
        raise FileRefusedError(f"row {line} has {end} columns, more than the limit "
                               f"{MAX_COLUMNS}; keep only the report's own columns",
                               line, column_letter(MAX_COLUMNS))
    return row[:end]


def check_zip(data: bytes, settings: IntakeSettings) -> None:
    """Refuse a zip bomb or a DTD-carrying XLSX before inflating anything large."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileRefusedError(f"not a readable XLSX (broken zip): {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > settings.max_xlsx_entries:
            raise FileRefusedError(f"the XLSX has {len(infos)} parts, more than the limit "
                                   f"{settings.max_xlsx_entries}")
        total = sum(i.file_size for i in infos)
        if total > settings.max_xlsx_uncompressed:
            raise FileRefusedError(f"the XLSX expands to {total} bytes, more than the limit "
                                   f"{settings.max_xlsx_uncompressed}")
        for info in infos:
            if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(
                    info.compress_size, 1):
                raise FileRefusedError(f"part {info.filename} is compressed "
                                       f"{info.file_size // max(info.compress_size, 1)}:1; "
                                       "refused as a zip bomb")
        if "xl/workbook.xml" not in archive.namelist():
            raise FileRefusedError("not an XLSX workbook (no xl/workbook.xml); save the file "
                                   "as Excel Workbook (.xlsx) or CSV UTF-8")
        for info in infos:
            if not info.filename.endswith((".xml", ".rels")):
                continue
            with archive.open(info) as part:
                tail = b""
                while chunk := part.read(65536):
                    window = (tail + chunk).upper()
                    if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                        raise FileRefusedError(f"part {info.filename} declares a DTD or XML "
                                               "entities, which a real XLSX never does; "
                                               "refused")
                    tail = chunk[-16:]


def _xlsx_rows(data: bytes, settings: IntakeSettings) -> list[list[Any]]:
    check_zip(data, settings)
    import openpyxl  # parses XML through defusedxml when installed (it is a dependency)

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken parts
        raise FileRefusedError(f"not a readable XLSX: {type(exc).__name__}: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        rows: list[list[Any]] = []
        # One column past the limit is read, so that a row that reaches it is refused; the
        # sheet's declared width (up to 16,384) is never materialised.
        for line, row in enumerate(sheet.iter_rows(values_only=True,
                                                   max_col=MAX_COLUMNS + 1), start=1):
            if len(rows) > MAX_ROWS + HEADER_SCAN:
                raise FileRefusedError(f"more than {MAX_ROWS} rows; split the file")
            rows.append(_bounded(list(row), line))
    finally:
        book.close()
    return rows


# -- header mapping ------------------------------------------------------------------------
def _text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


Headers = dict[str, str]  # folded heading -> field


def _map_header(headers: Headers, rows: list[list[Any]], start: int,
                two: bool) -> dict[int, tuple[str, str]]:
    """Columns mapped to fields (index -> (field, header as written)) for a header at
    ``start`` (and ``start+1`` when ``two``). Merged cells: a blank top cell takes the value
    on its left (horizontal merge); a blank bottom cell takes the top (vertical merge)."""
    top = rows[start]
    bottom = rows[start + 1] if two else []
    width = max(len(top), len(bottom))
    mapped: dict[int, tuple[str, str]] = {}
    left = ""
    for c in range(width):
        t = _text(top[c]) if c < len(top) else ""
        left = t or left
        b = _text(bottom[c]) if c < len(bottom) else ""
        candidates = ([b, f"{left} {b}"] if b else [t]) if two else [t]
        for cand in candidates:
            name = headers.get(fold(cand)) if cand.strip() else None
            if name and name not in {m[0] for m in mapped.values()}:
                mapped[c] = (name, cand)
                break
    return mapped


def _headers(contract: Contract, mapping: Headers | None) -> Headers:
    """The contract's headers, a steward's mapping (folded heading -> field) first."""
    return {**contract.header_map(), **(mapping or {})}


def _find_header(headers: Headers, rows: list[list[Any]]) -> tuple[int, int,
                                                                   dict[int, tuple[str, str]]]:
    best: tuple[int, int, dict[int, tuple[str, str]]] = (-1, 0, {})
    for start in range(min(HEADER_SCAN, len(rows))):
        for two in (False, True):
            if two and start + 1 >= len(rows):
                continue
            mapped = _map_header(headers, rows, start, two)
            if len(mapped) > len(best[2]):
                best = (start, 2 if two else 1, mapped)
    return best


def _proposed_header(contract: Contract, rows: list[list[Any]]) -> int | None:
    """The row that most looks like a header by proposals when no contract header matched:
    at least three of its headings get a proposed field (an export in its own words; a row
    of two mis-decoded headings is more likely a file in another encoding)."""
    best, count = None, 2
    for start in range(min(HEADER_SCAN, len(rows))):
        headings = [_text(c) for c in rows[start] if _text(c)]
        found = sum(p.field is not None for p in propose(contract, headings))
        if found > count:
            best, count = start, found
    return best


_UNIT_WORDS = ("don vi", "ma dv", "xa", "phuong", "unit", "co quan")


def _unit_heading(header: str) -> bool:
    """A heading that names a unit in words the contract does not list ("Tên đơn vị",
    "Xã/phường", "Mã ĐV")."""
    folded = " ".join(fold(header).replace("/", " ").replace(".", " ").split())
    return any(f" {w} " in f" {folded} " for w in _UNIT_WORDS)


def _unit_values(rows: list[list[Any]], first: int, column: int,
                 known_units: frozenset[str] | None) -> bool:
    """Most of the column's first non-blank cells are unit codes of the registry."""
    if not known_units:
        return False
    cells = [_text(r[column]) for r in rows[first:first + 50] if column < len(r)]
    cells = [c for c in cells if c]
    return bool(cells) and sum(c in known_units for c in cells) * 2 > len(cells)


def _too_long(contract: Contract, exc: _CellTooLongError) -> FileRefusedError:
    """Name the row, column and (from the header read so far) field of an over-long cell."""
    name = header = None
    if exc.column is not None and exc.rows:
        start, _height, mapped = _find_header(_headers(contract, None), exc.rows)
        if start >= 0 and exc.column in mapped:
            name, header = mapped[exc.column]
        elif start >= 0 and exc.column < len(exc.rows[start]):
            header = _text(exc.rows[start][exc.column]) or None
    column = None
    if exc.column is not None:
        column = column_letter(exc.column) + (f" ({header})" if header else "")
    return FileRefusedError(f"a cell is longer than {MAX_CELL} characters; no field holds "
                            "that much text: check the column's content", exc.row, column,
                            name)


def parse_file(
    data: bytes, filename: str, contract: Contract, settings: IntakeSettings,
    encoding: str | None = None, known_units: frozenset[str] | None = None,
    mapping: Headers | None = None,
) -> ParsedFile:
    """Read a file into raw records (text cells), or raise ``FileRefusedError``. Headings are
    matched to fields by ``mapping`` (a steward's, folded heading -> field) first, then by the
    contract's headers. Every non-blank column heading is either mapped to a field or listed
    in ``unmapped`` with the field chiso proposes for it (``proposals``); an unmapped column
    that looks like the rows' unit (by its heading, or by cells that are ``known_units``
    codes) is a header problem when no column maps to ``unit``. A file whose headings match
    no header but are like the contract's (three or more proposals in one row) is read with
    that row as its header, so that the answer lists the proposals."""
    if len(data) > settings.max_upload_bytes:
        raise FileRefusedError(f"the file is {len(data)} bytes, more than the limit "
                               f"{settings.max_upload_bytes}")
    if not data.strip():
        raise FileRefusedError("the file is empty")
    lower = filename.lower()
    if data[:4] == b"PK\x03\x04" or lower.endswith((".xlsx", ".xlsm")):
        kind, used, rows = "xlsx", None, _xlsx_rows(data, settings)
    elif lower.endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRefusedError("old Excel 97-2003 (.xls) files are not read; save the file as "
                               "Excel Workbook (.xlsx) or CSV UTF-8")
    else:
        text, used = _decode_csv(data, encoding)
        try:
            kind, rows = "csv", _csv_rows(text)
        except _CellTooLongError as exc:
            raise _too_long(contract, exc) from exc
    start, height, mapped = _find_header(_headers(contract, mapping), rows)
    own = _proposed_header(contract, rows) if len(mapped) < 2 else None
    if own is not None:
        start, height, mapped = own, 1, _map_header(_headers(contract, mapping), rows, own,
                                                    False)
    elif len(mapped) < 2:
        hint = (" The file may be in an encoding other than UTF-8 or Windows-1258."
                if kind == "csv" else "")
        expected = ", ".join(f"'{s.headers[0] if s.headers else n}'"
                             for n, s in contract.fields.items() if s.required)
        raise FileRefusedError(f"no header row found in the first {HEADER_SCAN} rows; expected "
                               f"columns such as {expected}.{hint}")
    parsed = ParsedFile(kind, used)
    parsed.table = rows
    header_row = start + height  # spreadsheet row number of the last header row
    for c, (name, header) in mapped.items():
        parsed.columns[name] = f"{column_letter(c)} ({header})"
        parsed.read.append(HeadingProposal(column_letter(c), header, name, 100))
        if contract.fields[name].personal:
            parsed.personal_columns.append(c)
    taken = set(mapped)
    headings: list[tuple[int, str]] = []  # unmapped columns' headings
    for c in range(max((len(rows[r]) for r in range(start, start + height)), default=0)):
        header = " ".join(h for h in (_text(rows[r][c]) if c < len(rows[r]) else ""
                                      for r in range(start, start + height)) if h)
        if c in taken or not header:
            continue
        where = f"{column_letter(c)} ({header})"
        headings.append((c, header))
        parsed.unmapped.append(where)
        parsed.unmapped_columns.append(c)
        if "unit" in contract.fields and "unit" not in parsed.columns and (
                _unit_heading(header) or _unit_values(rows, start + height, c, known_units)):
            known = ", ".join(f"'{h}'" for h in contract.fields["unit"].headers)
            parsed.header_problems.append(Problem(
                -1, "unit", f"column {where} seems to name each row's unit but its heading is "
                f"not one the contract knows; head it {known} so that every row is filed "
                "under its own unit", start + height, where))
    proposed = {p.heading: p for p in propose(contract, [h for _c, h in headings],
                                              parsed.columns)}
    parsed.proposals = [HeadingProposal(column_letter(c), h, proposed[h].field, proposed[h].score)
                        for c, h in headings]
    for name, spec in contract.fields.items():
        if spec.required and name not in parsed.columns and name != "unit":
            seen = spec.headers[0] if spec.headers else name
            parsed.header_problems.append(Problem(
                -1, name, f"no column for required field '{name}'; add a column headed "
                f"'{seen}'", header_row, None))
    for r in range(start + height, len(rows)):
        row = rows[r]
        if all(_text(cell) == "" for cell in row):
            continue
        record = {name: (row[c] if c < len(row) else None) for c, (name, _h) in mapped.items()}
        record = {k: (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
        parsed.records.append(record)
        parsed.rows.append(r + 1)
    return parsed


def redacted_csv(parsed: ParsedFile, pseudonym: Callable[[str], str]) -> bytes:
    """The file's cells as CSV UTF-8, personal-identifier columns and columns no field reads
    (nobody can tell what they hold) pseudonymised: what the raw archive keeps when the
    operator has not enabled keeping identifiers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    personal = set(parsed.personal_columns) | set(parsed.unmapped_columns)
    data_rows = {r - 1 for r in parsed.rows}
    for i, row in enumerate(parsed.table):
        cells = ["" if cell is None else str(cell) for cell in row]
        if i in data_rows:
            cells = [pseudonym(v) if c in personal and v else v for c, v in enumerate(cells)]
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")
