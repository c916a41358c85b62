"""Turning the deadline words of Vietnamese plans into dates.

"Quý III/2026" is the last day of the third quarter, "tháng 5/2026" the last day of May,
"Năm 2026" the last day of the year. "Thường xuyên" and "Hằng năm" are recurring duties;
"Thực hiện theo tiến độ …" follows a schedule set elsewhere. Words that name a start
("Từ Quý II/2026") keep the date of the period they name, and say so in ``kind``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from chiso.text import fold

DeadlineKind = Literal["date", "starts", "recurring", "per_schedule", "none"]

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
# "quy iii 2026", and lists such as "quy i ii 2026" (from "Quý I, II/2026"): the last counts.
_QUARTER = re.compile(r"quy\s+(?:(?:iv|i{1,3}|[1-4])\s+)*(iv|i{1,3}|[1-4])\s+(?:nam\s+)?(\d{4})")
_DAY = re.compile(r"(\d{1,2})\s*[/ ]\s*(\d{1,2})\s*[/ ]\s*(\d{4})")
_MONTH = re.compile(r"(?:thang\s*)?(\d{1,2})\s*(?:nam\s*)?[/ ]\s*(\d{4})")
_YEAR_SPAN = re.compile(r"(\d{4})\s+(\d{4})")
_YEAR = re.compile(r"(?:nam\s*)?(\d{4})")
_HALF = re.compile(r"6 thang (dau|cuoi) nam\s*(\d{4})")

_RECURRING = ("thuong xuyen", "hang nam", "hang quy", "hang thang", "dinh ky", "lien tuc")
_SCHEDULE = ("theo tien do", "theo ke hoach", "theo lo trinh", "theo huong dan", "theo yeu cau")


@dataclass(frozen=True)
class Deadline:
    """A parsed deadline: its kind, the date it resolves to (if any), and the source words."""

    kind: DeadlineKind
    date: date | None
    text: str | None

    @property
    def is_dated(self) -> bool:
        return self.date is not None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _first_date(words: str) -> date | None:
    """The first date the folded words name, at the end of the period they name."""
    candidates: list[tuple[int, date]] = []
    if m := _HALF.search(words):
        year = int(m.group(2))
        half_end = date(year, 6, 30) if m.group(1) == "dau" else date(year, 12, 31)
        candidates.append((m.start(), half_end))
    if m := _QUARTER.search(words):
        q = m.group(1)
        quarter = int(q) if q.isdigit() else _ROMAN[q]
        candidates.append((m.start(), _month_end(int(m.group(2)), quarter * 3)))
    if m := _DAY.search(words):
        day, month, year = (int(g) for g in m.groups())
        if (exact := _safe_date(year, month, day)) is not None:
            candidates.append((m.start(), exact))
    else:
        for m in _MONTH.finditer(words):
            month, year = int(m.group(1)), int(m.group(2))
            if 1 <= month <= 12 and not _inside_quarter(words, m.start()):
                candidates.append((m.start(), _month_end(year, month)))
                break
    if not candidates:
        if m := _YEAR_SPAN.search(words):
            candidates.append((m.start(), date(int(m.group(2)), 12, 31)))
        elif m := _YEAR.search(words):
            candidates.append((m.start(), date(int(m.group(1)), 12, 31)))
    return min(candidates)[1] if candidates else None


def _inside_quarter(words: str, pos: int) -> bool:
    """True when a "N/YYYY" match is really the tail of "Quý N/YYYY"."""
    return bool(re.search(r"quy\s*$", words[:pos]))


def _impossible(words: str) -> bool:
    """Words that name a quarter, month or day that does not exist."""
    if re.search(r"\bquy\s+(?!(?:iv|i{1,3}|[1-4])\b)\w+", words):
        return True
    if any(not 1 <= int(m) <= 12 for m in re.findall(r"\bthang\s+(\d{1,2})\b", words)):
        return True
    return any(_safe_date(int(y), int(mo), int(d)) is None for d, mo, y in _DAY.findall(words))


def parse_deadline(text: str | None) -> Deadline:
    """Parse deadline words as plans write them; unknown words give kind ``"none"``."""
    if text is None or not text.strip():
        return Deadline("none", None, text)
    words = fold(text)  # folding turns "/" and "-" into spaces: "quy iii 2026", "5 2026"
    if any(w in words for w in _SCHEDULE) and not re.search(r"\d{4}", words):
        return Deadline("per_schedule", None, text)
    if _impossible(words):
        return Deadline("none", None, text)  # "Quý V/2026", "tháng 13/2026", "31/02/2026"
    found = _first_date(words)
    if found is None:
        if any(w in words for w in _RECURRING):
            return Deadline("recurring", None, text)
        return Deadline("none", None, text)
    starts = re.search(r"\b(tu|bat dau|ke tu)\s+(quy|thang|ngay|nam|\d)", words)
    kind: DeadlineKind = "starts" if starts else "date"
    return Deadline(kind, found, text)
