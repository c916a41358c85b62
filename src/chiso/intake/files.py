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

from chiso.intake.contracts import Contract
from chiso.intake.settings import IntakeSettings
from chiso.intake.validate import Problem
from chiso.text import fold, nfc

MAX_ROWS = 200_000
MAX_RATIO = 150  # uncompressed / compressed, per zip entry; real sheets stay well below
HEADER_SCAN = 15  # rows searched for the header


class FileRefusedError(ValueError):
    """The file cannot be read at all (hostile, broken, unknown encoding)."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.problem = Problem(-1, None, message, row, column)


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
    rows = []
    for i, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter)):
        if i > MAX_ROWS + HEADER_SCAN:
            raise FileRefusedError(f"more than {MAX_ROWS} rows; split the file")
        rows.append(list(row))
    return rows


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
        for row in sheet.iter_rows(values_only=True):
            if len(rows) > MAX_ROWS + HEADER_SCAN:
                raise FileRefusedError(f"more than {MAX_ROWS} rows; split the file")
            rows.append(list(row))
    finally:
        book.close()
    return rows


# -- header mapping ------------------------------------------------------------------------
def _text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _map_header(contract: Contract, rows: list[list[Any]], start: int,
                two: bool) -> dict[int, tuple[str, str]]:
    """Columns mapped to fields (index -> (field, header as written)) for a header at
    ``start`` (and ``start+1`` when ``two``). Merged cells: a blank top cell takes the value
    on its left (horizontal merge); a blank bottom cell takes the top (vertical merge)."""
    headers = contract.header_map()
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


def _find_header(contract: Contract, rows: list[list[Any]]) -> tuple[int, int,
                                                                     dict[int, tuple[str, str]]]:
    best: tuple[int, int, dict[int, tuple[str, str]]] = (-1, 0, {})
    for start in range(min(HEADER_SCAN, len(rows))):
        for two in (False, True):
            if two and start + 1 >= len(rows):
                continue
            mapped = _map_header(contract, rows, start, two)
            if len(mapped) > len(best[2]):
                best = (start, 2 if two else 1, mapped)
    return best


def parse_file(
    data: bytes, filename: str, contract: Contract, settings: IntakeSettings,
    encoding: str | None = None,
) -> ParsedFile:
    """Read a file into raw records (text cells), or raise ``FileRefusedError``."""
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
        kind, rows = "csv", _csv_rows(text)
    start, height, mapped = _find_header(contract, rows)
    if len(mapped) < 2:
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
        if contract.fields[name].personal:
            parsed.personal_columns.append(c)
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
    """The file's cells as CSV UTF-8, personal-identifier columns pseudonymised (what the raw
    archive keeps when the operator has not enabled keeping identifiers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    personal = set(parsed.personal_columns)
    data_rows = {r - 1 for r in parsed.rows}
    for i, row in enumerate(parsed.table):
        cells = ["" if cell is None else str(cell) for cell in row]
        if i in data_rows:
            cells = [pseudonym(v) if c in personal and v else v for c, v in enumerate(cells)]
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")
