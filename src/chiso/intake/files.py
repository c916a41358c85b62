"""File door: a table as agencies really export it, read into raw records for the one
validation path.

The bytes become rows in :mod:`chiso.intake.sheets` (XLSX, XLS, HTML tables named .xls, XML
Spreadsheet 2003, CSV/TSV in UTF-8, UTF-16 or Windows-1258; hostile files refused before any
expensive work). This module finds the header among the title rows (one row, or two with
merged cells), matches headings to contract fields (a steward's saved mapping first, then the
contract's headers, ignoring tone marks and case), proposes a field for every heading it cannot
match, and reads each row below the header as a record, except the rows an export lays out
around its data, which are reported, never silently dropped: group headings inside the table
and the footer (totals, the date line, signatures) after it. Problems name the row number the
user sees in the spreadsheet and the column (letter and header).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chiso.catalog.feeds import Contract, FieldType
from chiso.intake.proposals import propose
from chiso.intake.settings import IntakeSettings
from chiso.intake.sheets import (
    HEADER_SCAN,
    MAX_CELL,
    CellTooLongError,
    FileRefusedError,
    column_letter,
    read_sheet,
)
from chiso.intake.validate import Problem
from chiso.text import Said, fold

__all__ = ["MAX_CELL", "FileRefusedError", "ParsedFile", "parse_file", "redacted_csv"]


@dataclass(frozen=True)
class HeadingProposal:
    """A column no field reads, and the field chiso proposes for it (None: no likely one)."""

    column: str  # letter
    heading: str
    field: str | None
    score: int  # 0-100


@dataclass(frozen=True)
class LayoutRow:
    """A row below the header that the export laid out around its data, not a record:
    ``group`` (a heading between records, such as "I. Lĩnh vực Tư pháp"), ``totals`` (a row
    labelled "Tổng cộng", "Cộng", …) or ``footer`` (after the last record: the date line,
    "Người lập biểu", signatures)."""

    row: int  # as the spreadsheet numbers it
    kind: str
    text: str  # its non-blank cells, joined by " | " (at most 120 characters)


@dataclass
class ParsedFile:
    kind: str  # xlsx | xls | html | xml | csv
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
    layout: list[LayoutRow] = field(default_factory=list)  # rows read as no record

    def locate(self) -> Callable[[int, str | None], tuple[int | None, str | None]]:
        def where(index: int, name: str | None) -> tuple[int | None, str | None]:
            return self.rows[index], self.columns.get(name) if name else None

        return where


# -- rows that are not records ----------------------------------------------------------------
# A totals row's label, tone marks and case folded: "Tổng cộng", "Tổng số", "Cộng", "Total".
_TOTALS = re.compile(r"^(tong|cong|total|sum)\b")


_NUMBERED = re.compile(r"^\(?(\d{1,3})\)?$")


def _numbering(cells: list[str]) -> bool:
    """The row of column numbers that report forms put under the header: (1) (2) (3) …"""
    numbers = [_NUMBERED.match(c) for c in cells]
    if len(cells) < 3 or not all(numbers):
        return False
    values = [int(m[1]) for m in numbers if m]
    return values == list(range(values[0], values[0] + len(values)))


def _layout(row: list[Any], required: list[int]) -> str | None:
    """``totals``, ``numbering`` or ``group`` when the row is laid out around the data rather
    than a record (its place decides later whether a ``group`` row is the footer), None for a
    record. A row is one only when it leaves most of the required columns blank, or is the
    form's row of column numbers, so a broken record is still validated and refused by row
    and field, never taken for layout."""
    cells = [t for t in map(_text, row) if t]
    if _numbering(cells):
        return "numbering"
    filled = sum(1 for c in required if c < len(row) and _text(row[c]))
    if 2 * filled >= len(required):
        return None
    if _TOTALS.match(fold(cells[0])):
        return "totals"
    # Few cells where a record fills many: a heading of a group or a line of the footer.
    if 4 * len(cells) <= len(required):
        return "group"
    return None


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


# a person's address names a commune too, but not the unit a row is filed under
_ADDRESS_WORDS = ("dia chi", "noi cu tru", "thuong tru", "tam tru", "que quan", "noi o")


def _unit_heading(header: str) -> bool:
    """A heading that names a unit in words the contract does not list ("Tên đơn vị",
    "Xã/phường", "Mã ĐV"), not an address ("Địa chỉ (xã/phường)")."""
    folded = " ".join(fold(header).replace("/", " ").replace(".", " ").split())
    if any(f" {w} " in f" {folded} " for w in _ADDRESS_WORDS):
        return False
    return any(f" {w} " in f" {folded} " for w in _UNIT_WORDS)


def _one_value(rows: list[list[Any]], first: int, column: int) -> bool:
    """The column says the same thing on every row (the office's own name, filled down)."""
    cells = {_text(r[column]) for r in rows[first:] if column < len(r)} - {""}
    return len(cells) <= 1


def _unit_values(rows: list[list[Any]], first: int, column: int,
                 known_units: frozenset[str] | None) -> bool:
    """Most of the column's first non-blank cells are unit codes of the registry."""
    if not known_units:
        return False
    cells = [_text(r[column]) for r in rows[first:first + 50] if column < len(r)]
    cells = [c for c in cells if c]
    return bool(cells) and sum(c in known_units for c in cells) * 2 > len(cells)


def _too_long(contract: Contract, exc: CellTooLongError) -> FileRefusedError:
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
    return FileRefusedError(Said("a cell is longer than %(limit)s characters; no field holds "
                                 "that much text: check the column's content", limit=MAX_CELL),
                            exc.row, column, name)


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
        raise FileRefusedError(Said("the file is %(size)s bytes, more than the limit "
                                    "%(limit)s", size=len(data),
                                    limit=settings.max_upload_bytes))
    if not data.strip():
        raise FileRefusedError(Said("the file is empty"))
    headers = _headers(contract, mapping)
    try:
        sheet = read_sheet(data, filename, settings, encoding, wanted=lambda rows: (
            len(_find_header(headers, rows)[2]) >= 2
            or _proposed_header(contract, rows) is not None))
    except CellTooLongError as exc:
        raise _too_long(contract, exc) from exc
    kind, used, rows = sheet.kind, sheet.encoding, sheet.rows
    start, height, mapped = _find_header(_headers(contract, mapping), rows)
    own = _proposed_header(contract, rows) if len(mapped) < 2 else None
    if own is not None:
        start, height, mapped = own, 1, _map_header(_headers(contract, mapping), rows, own,
                                                    False)
    elif len(mapped) < 2:
        expected = ", ".join(f"'{s.headers[0] if s.headers else n}'"
                             for n, s in contract.fields.items() if s.required)
        if kind in ("csv", "html"):
            raise FileRefusedError(Said(
                "no header row found in the first %(rows)s rows; expected columns such as "
                "%(expected)s. The file may be in an encoding other than UTF-8 or "
                "Windows-1258.", rows=HEADER_SCAN, expected=expected))
        raise FileRefusedError(Said("no header row found in the first %(rows)s rows; expected "
                                    "columns such as %(expected)s.", rows=HEADER_SCAN,
                                    expected=expected))
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
                (_unit_heading(header) and not _one_value(rows, start + height, c))
                or _unit_values(rows, start + height, c, known_units)):
            known = ", ".join(f"'{h}'" for h in contract.fields["unit"].headers)
            parsed.header_problems.append(Problem(-1, "unit", Said(
                "column %(column)s seems to name each row's unit but its heading is not one "
                "the contract knows; head it %(headings)s so that every row is filed under its "
                "own unit", column=where, headings=known), start + height, where))
    proposed = {p.heading: p for p in propose(contract, [h for _c, h in headings],
                                              parsed.columns)}
    parsed.proposals = [HeadingProposal(column_letter(c), h, proposed[h].field, proposed[h].score)
                        for c, h in headings]
    for name, spec in contract.fields.items():
        if spec.required and name not in parsed.columns and name != "unit":
            seen = spec.headers[0] if spec.headers else name
            parsed.header_problems.append(Problem(-1, name, Said(
                "no column for required field '%(name)s'; add a column headed '%(heading)s'",
                name=name, heading=seen), header_row, None))
    required = [c for c, (name, _h) in mapped.items() if contract.fields[name].required]
    for r in range(start + height, len(rows)):
        row = rows[r]
        if all(_text(cell) == "" for cell in row):
            continue
        laid_out = _layout(row, required)
        if laid_out is not None:
            text = " | ".join(t for t in map(_text, row) if t)
            parsed.layout.append(LayoutRow(r + 1, laid_out, text[:120]))
            continue
        record = {name: (row[c] if c < len(row) else None) for c, (name, _h) in mapped.items()}
        record = {k: (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
        parsed.records.append(record)
        parsed.rows.append(r + 1)
    last = parsed.rows[-1] if parsed.rows else 0
    parsed.layout = [LayoutRow(x.row, "footer", x.text) if x.kind == "group" and x.row > last
                     else x for x in parsed.layout]
    parsed.header_problems += read_columns(contract, parsed)
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


# -- reading a column as a whole ----------------------------------------------------------------
# What one cell cannot tell, its column can: Excel's guard against dropped zeros (="0123"), a
# column whose dots are decimal points ("2.500" beside "0.25"), dates written month first
# (a "3/25/2026" among them), serial day numbers in a date column, and tick columns ("x" or
# blank) for yes/no.
_GUARDED = re.compile(r'^="(.*)"$', re.S)
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_DOT_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$")
_SLASHED = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(.*)$", re.S)
_TICKS = {"x", "v", "✓", "✔"}
_SERIALS = (36526, 73415)  # Excel's day numbers of 1/1/2000 and 31/12/2100


def read_columns(contract: Contract, parsed: ParsedFile) -> list[Problem]:
    """Rewrite the records' cells where their column decides how they read (see above);
    returns the problems of a column that reads two ways at once."""
    problems: list[Problem] = []
    for name, spec in contract.fields.items():
        if name not in parsed.columns:
            continue
        cells = [r.get(name) for r in parsed.records]
        cells = [_unguarded(c) for c in cells]
        texts = [c.replace("\u00a0", "").replace(" ", "") for c in cells if isinstance(c, str)]
        if spec.type in (FieldType.int, FieldType.number) and not any("," in t for t in texts) \
                and any(_DOT_DECIMAL.match(t) and not _DOT_THOUSANDS.match(t) for t in texts):
            # the column writes decimal points, so "2.500" is two and a half, not 2500
            cells = [float(c.replace(" ", "")) if isinstance(c, str) and _DOT_DECIMAL.match(
                c.replace(" ", "")) else c for c in cells]
        elif spec.type is FieldType.datetime:
            cells, problem = _dates(cells, parsed.columns[name], name)
            if problem is not None:
                problems.append(problem)
        elif spec.type is FieldType.bool and spec.required and any(
                t.lower() in _TICKS for t in texts):
            # a required yes/no written as ticks: a blank is "no" (an optional one's blank
            # stays unknown: a dossier not yet resolved has no electronic result either way)
            cells = ["x" if isinstance(c, str) and c.strip().lower() in _TICKS
                     else "không" if c is None or (isinstance(c, str) and not c.strip())
                     else c for c in cells]
        for record, cell in zip(parsed.records, cells, strict=True):
            record[name] = cell
    return problems


def _unguarded(cell: Any) -> Any:
    m = _GUARDED.match(cell) if isinstance(cell, str) else None
    return m[1] if m else cell


def _dates(cells: list[Any], column: str, name: str) -> tuple[list[Any], Problem | None]:
    """A date column's cells: day numbers as dates, and month-first dates turned day-first
    when the column shows it (a second part above 12, and no first part above 12)."""
    from openpyxl.utils.datetime import from_excel

    out: list[Any] = []
    for c in cells:
        number = c if isinstance(c, int | float) and not isinstance(c, bool) else None
        if (isinstance(c, str) and _DOT_DECIMAL.match(c.strip())) or (
                isinstance(c, str) and c.strip().isdigit()):
            number = float(c.strip())
        if number is not None and _SERIALS[0] <= number <= _SERIALS[1]:
            out.append(from_excel(number))
        else:
            out.append(c)
    parts = [(m, int(m[1]), int(m[3])) for m in
             (_SLASHED.match(c.strip()) for c in out if isinstance(c, str)) if m]
    day_first = next((m[0] for m, a, _b in parts if a > 12), None)
    month_first = next((m[0] for m, _a, b in parts if b > 12), None)
    if month_first is None:
        return out, None
    if day_first is not None:
        return out, Problem(-1, name, Said(
            "column %(column)s holds dates written day first ('%(one)s') and month first "
            "('%(other)s'); export every date in one form, dd/mm/yyyy", column=column,
            one=day_first, other=month_first), None, column)
    swapped: list[Any] = []
    for c in out:
        m = _SLASHED.match(c.strip()) if isinstance(c, str) else None
        swapped.append(f"{m[3]}{m[2]}{m[1]}{m[2]}{m[4]}{m[5]}" if m else c)
    return swapped, None
