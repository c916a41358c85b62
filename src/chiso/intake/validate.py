"""The one validation path every door uses (push API, pull connectors, file upload).

``validate_batch`` takes raw records (dicts) and returns typed, normalised records or the
complete list of problems, each naming the record (index in the batch, or the spreadsheet row
and column for files) and the field, with a message a source-system developer can act on.

Two modes: ``json`` (push and pull: JSON types are checked strictly, datetimes are ISO 8601
with an offset) and ``text`` (files: every cell is text as a Vietnamese spreadsheet writes it:
dd/mm/yyyy dates, decimal comma and dot thousands, "có"/"không" booleans, labels for codes).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from chiso.catalog.feeds import Contract, FieldSpec, FieldType
from chiso.clock import VIETNAM
from chiso.text import Said, fold

VN = VIETNAM
Mode = Literal["json", "text"]

_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|(0[1-9]|1[0-2])))?$")
# dd/mm/yyyy [hh:mm[:ss[.fff]]] [SA|CH|AM|PM] [+07:00]: Vietnamese Windows writes "SA"/"CH"
_DMY = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(\d{1,2})[:h](\d{2})(?::(\d{2})"
    r"(?:[.,]\d+)?)?)?\s*(SA|CH|AM|PM)?\s*(Z|[+-]\d{2}:?\d{2})?$", re.I)
# a month as offices write it: "03/2026", "3-2026", "Tháng 3/2026" (tone marks folded)
_MONTH_YEAR = re.compile(r"^(?:thang\s*)?(0?[1-9]|1[0-2])(?:\s*[/.-]\s*|\s+)(\d{4})$")
# dot thousands ("1.234.567"); a group never follows a lone 0 ("0.500" is a half)
_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$")
_TRUE = {"true", "1", "co", "x", "yes", "y", "dung", "dat", "roi", "da"}
_FALSE = {"false", "0", "khong", "no", "n", "sai", "chua"}


@dataclass(frozen=True)
class Problem:
    """One bad value. ``index`` is the record's position in the batch (0-based); files also
    give ``row`` (as the spreadsheet shows it) and ``column`` (letter or header)."""

    index: int
    field: str | None
    message: str
    row: int | None = None
    column: str | None = None
    record_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "field": self.field, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        if self.column is not None:
            out["column"] = self.column
        if self.record_id is not None:
            out["record_id"] = self.record_id
        return out

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else f"record {self.index}"
        if self.column:
            where += f", column {self.column}"
        what = f" field '{self.field}'" if self.field else ""
        return f"{where}{what}: {self.message}"


@dataclass
class Scope:
    """What the sender may send: feeds and units (None = any known unit)."""

    units: frozenset[str] | None = None
    known_units: frozenset[str] = frozenset()
    default_unit: str | None = None  # files: the unit the steward uploads for
    fill_unit: bool = True  # files without a unit column: rows take ``default_unit``

    @property
    def limited(self) -> bool:
        """The sender may reach only some units (a scoped token, or a file for one unit)."""
        return self.units is not None or self.default_unit is not None


@dataclass
class Result:
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _BadValueError(ValueError):
    """A value its field cannot take; ``said`` is the message, sayable in any language."""

    def __init__(self, template: str, **params: object) -> None:
        self.said = Said(template, **params)
        super().__init__(self.said)


class _Uncomputed:
    """A spreadsheet cell holding a formula whose result the file does not carry."""

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "UNCOMPUTED"


#: What a sheet reader puts where a formula's result is missing: never a blank, never a value.
UNCOMPUTED = _Uncomputed()


def _as_datetime(value: Any, mode: Mode, deadline: bool = False) -> datetime:
    if isinstance(value, datetime):  # XLSX cells
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        m = _DMY.match(text) if mode == "text" else None
        if m:
            d, mo, y, hh, mm, ss, half, offset = m.groups()
            hour = int(hh or 0)
            if half and half.upper() in ("CH", "PM") and hour < 12:
                hour += 12
            elif half and half.upper() in ("SA", "AM") and hour == 12:
                hour = 0
            try:
                dt = datetime(int(y), int(mo), int(d), hour, int(mm or 0), int(ss or 0))
                if offset:
                    dt = datetime.fromisoformat(dt.isoformat() + (
                        "+00:00" if offset.upper() == "Z" else
                        offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"))
            except ValueError as exc:
                raise _BadValueError("'%(text)s' is not a real date (dd/mm/yyyy): %(why)s",
                                     text=text, why=exc) from exc
        else:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                if mode == "text":
                    raise _BadValueError("'%(text)s' is not a date-time; write dd/mm/yyyy "
                                         "[hh:mm] or ISO 8601", text=text) from exc
                raise _BadValueError("'%(text)s' is not a date-time; write ISO 8601 with "
                                     "offset, e.g. 2026-03-02T08:30:00+07:00",
                                     text=text) from exc
            if dt.tzinfo is None and mode == "json":
                raise _BadValueError("'%(text)s' has no UTC offset; add one, e.g. +07:00",
                                    text=text)
    else:
        raise _BadValueError("expected a date-time string, got %(kind)s",
                             kind=type(value).__name__)
    if deadline and dt.tzinfo is None and (dt.hour, dt.minute, dt.second) == (0, 0, 0):
        # a file's due date without a time: due by the end of that day
        dt = dt.replace(hour=23, minute=59, second=59)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VN)  # files: times are Vietnamese local time
    if not 2000 <= dt.year <= 2100:
        raise _BadValueError("%(value)s is outside 2000-2100; check the year", value=value)
    return dt.astimezone(UTC)


def _text_number(text: str) -> float:
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    t = t.removesuffix("%")  # "18,5%" is the percentage it shows: 18.5
    if "," in t:  # Vietnamese: dot thousands, decimal comma
        t = t.replace(".", "").replace(",", ".")
    elif _THOUSANDS.match(t):
        t = t.replace(".", "")
    try:
        return float(t)
    except ValueError as exc:
        raise _BadValueError("'%(text)s' is not a number (write 1.234,5 or 1234.5)",
                             text=text) from exc


def _as_number(value: Any, mode: Mode, integer: bool) -> float | int:
    if isinstance(value, bool):
        raise _BadValueError("expected a number, got true/false")
    if isinstance(value, int | float):
        number: float | int = value
    elif isinstance(value, str) and mode == "text":
        number = _text_number(value)
    else:
        raise _BadValueError("expected a number, got %(kind)s '%(value)s'",
                             kind=type(value).__name__, value=value)
    if isinstance(number, float) and not math.isfinite(number):
        raise _BadValueError("expected a finite number")
    if integer:
        if isinstance(number, float):
            if not number.is_integer():
                raise _BadValueError("expected a whole number, got %(number)s", number=number)
            number = int(number)
        return number
    return float(number)


def _as_bool(value: Any, mode: Mode) -> bool:
    if isinstance(value, bool):
        return value
    if mode == "text" and isinstance(value, str | int | float):
        folded = fold(str(value))
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise _BadValueError("'%(value)s' is not yes/no; write Có/Không (or x / empty)",
                             value=value)
    raise _BadValueError("expected true or false, got %(kind)s '%(value)s'",
                         kind=type(value).__name__, value=value)


def _as_string(value: Any, spec: FieldSpec, mode: Mode) -> str:
    if (spec.personal and mode == "text" and isinstance(value, int | float)
            and not isinstance(value, bool)):
        # an identity number typed into a number cell has lost its leading zeros, and its
        # pseudonym would never match the same person's from another source
        raise _BadValueError("is a number cell: Excel drops an identifier's leading zeros; "
                             "format the column as Text and type the numbers again")
    if mode == "text" and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        raise _BadValueError("expected a string, got %(kind)s", kind=type(value).__name__)
    text = value.strip()
    if spec.enum is not None:
        if text in spec.enum:
            return text
        if mode == "text":
            folded = fold(text)
            for code in spec.enum:
                if folded == fold(code) or folded in {fold(x) for x in spec.labels.get(code, [])}:
                    return code
        allowed = ", ".join(
            f"{code} ({'; '.join(spec.labels[code])})" if mode == "text" and spec.labels.get(code)
            else code for code in spec.enum)
        raise _BadValueError("'%(text)s' is not one of: %(allowed)s", text=text,
                             allowed=allowed)
    if spec.max_length is not None and len(text) > spec.max_length:
        raise _BadValueError("longer than %(limit)s characters (%(length)s)",
                             limit=spec.max_length, length=len(text))
    if spec.pattern is not None and not re.match(spec.pattern, text):
        raise _BadValueError("'%(text)s' does not match %(pattern)s", text=text,
                             pattern=spec.pattern)
    return text


def convert(value: Any, spec: FieldSpec, mode: Mode) -> Any:
    """One value to its contract type, or ``_BadValueError`` with a message."""
    if value is UNCOMPUTED:
        raise _BadValueError("the cell holds a formula whose result the file does not carry "
                             "(the program that wrote it did not compute it); open the file "
                             "in Excel and save it again")
    t = spec.type
    if t is FieldType.datetime:
        return _as_datetime(value, mode, deadline=spec.deadline and mode == "text")
    if t in (FieldType.int, FieldType.number):
        number = _as_number(value, mode, integer=t is FieldType.int)
        if spec.min is not None and number < spec.min:
            raise _BadValueError("%(number)s is below the minimum %(limit)s", number=number,
                                 limit=f"{spec.min:g}")
        if spec.max is not None and number > spec.max:
            raise _BadValueError("%(number)s is above the maximum %(limit)s", number=number,
                                 limit=f"{spec.max:g}")
        return number
    if t is FieldType.bool:
        return _as_bool(value, mode)
    if t is FieldType.period:
        if mode == "text" and isinstance(value, date):  # a month typed into a date cell
            return f"{value.year}-{value.month:02d}"
        text = _as_string(value, spec, mode)
        if mode == "text" and (m := _MONTH_YEAR.match(fold(text))):
            return f"{m[2]}-{int(m[1]):02d}"
        if not _PERIOD.match(text):
            raise _BadValueError(
                "'%(text)s' is not a period; write 2026, 2026-Q3, 2026-H1 or 2026-10", text=text)
        return text
    return _as_string(value, spec, mode)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b, "==": lambda a, b: a == b,
}


_MISSING = Said("is required and missing")  # one message for every blank required value


def validate_record(
    contract: Contract, raw: Any, mode: Mode, scope: Scope
) -> tuple[dict[str, Any] | None, list[tuple[str | None, str]]]:
    """Check one record; returns (typed record or None, [(field, message)])."""
    if not isinstance(raw, Mapping):
        return None, [(None, Said("a record must be a JSON object, got %(kind)s",
                                  kind=type(raw).__name__))]
    problems: list[tuple[str | None, str]] = []
    out: dict[str, Any] = {}
    unreadable: set[str] = set()  # said once, not again by a rule that reads them
    raw = dict(raw)
    if _blank(raw.get("unit")) and scope.default_unit is not None and scope.fill_unit:
        raw["unit"] = scope.default_unit
    for name, spec in contract.fields.items():
        value = raw.get(name)
        if _blank(value):
            if spec.required:
                problems.append((name, _MISSING))
            out[name] = None
            continue
        try:
            out[name] = convert(value, spec, mode)
        except _BadValueError as exc:
            problems.append((name, exc.said))
            out[name] = None
            unreadable.add(name)
    unit = out.get("unit")
    if unit is not None:
        if scope.known_units and unit not in scope.known_units:
            problems.append(("unit", Said(
                "unknown unit code '%(unit)s'; use the registry's code (5-digit code for "
                "communes, short code for departments)", unit=unit)))
        elif scope.units is not None and unit not in scope.units:
            problems.append(("unit", Said("this source may not send data for unit '%(unit)s'",
                                          unit=unit)))
        elif scope.default_unit is not None and unit != scope.default_unit:
            problems.append(("unit", Said(
                "the file is uploaded for unit '%(uploaded)s' but this row is for '%(unit)s'",
                uploaded=scope.default_unit, unit=unit)))
    for rule in contract.rules:
        if unreadable & {rule.left, rule.right, *(rule.when or {}), *(rule.require or [])}:
            continue
        if rule.left is not None and rule.right is not None and rule.op is not None:
            a, b = out.get(rule.left), out.get(rule.right)
            if a is not None and b is not None and not _OPS[rule.op](a, b):
                problems.append((rule.left, Said(rule.message, rule.message_vi)))
        elif rule.when is not None and rule.require is not None and all(
            out.get(k) in values for k, values in rule.when.items()
        ):
            for name in rule.require:
                if out.get(name) is None:
                    problems.append((name, Said(rule.message, rule.message_vi)))
    return (None if problems else out), problems


def validate_batch(
    contract: Contract,
    raws: Sequence[Any],
    mode: Mode = "json",
    scope: Scope | None = None,
    locate: Callable[[int, str | None], tuple[int | None, str | None]] | None = None,
) -> Result:
    """Validate every record (never stopping at the first problem) and check that no record
    id and version appears twice with different content in the batch."""
    scope = scope or Scope()
    result = Result()
    for index, raw in enumerate(raws):
        record, problems = validate_record(contract, raw, mode, scope)
        record_id = None
        if isinstance(raw, Mapping):
            rid = raw.get("id") if "id" in contract.fields else None
            record_id = str(rid) if rid is not None else None
        for name, message in problems:
            row, column = locate(index, name) if locate else (None, None)
            result.problems.append(Problem(index, name, message, row, column, record_id))
        if record is not None:
            result.records.append(record)
    return result
