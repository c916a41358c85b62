"""The Vietnamese working-day calendar: which days count when processing times run in
working days (ngày làm việc).

Saturdays and Sundays are off, and so are the public holidays (Tết Nguyên đán, Giỗ Tổ Hùng
Vương, 30/4, 1/5, Quốc khánh, …) and the days off moved to bridge a holiday and a weekend; a
weekend day worked in exchange is a working day. These facts come from the maintained
``holidays`` library (country ``VN``); the operator adds what it does not know yet in
``data/calendar/vn.yaml`` (``days_off``, ``working_days``, each with its reason), which wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import holidays
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chiso.catalog.files import load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarDay(_Strict):
    day: date
    reason: str = Field(min_length=3)


class Years(_Strict):
    first: int = Field(ge=1990, le=2200)
    last: int = Field(ge=1990, le=2200)


class CalendarFile(_Strict):
    years: Years
    days_off: list[CalendarDay] = Field(default_factory=list)
    working_days: list[CalendarDay] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coherent(self) -> CalendarFile:
        if self.years.first > self.years.last:
            raise ValueError("years.first is after years.last")
        both = {e.day for e in self.days_off} & {e.day for e in self.working_days}
        if both:
            raise ValueError(f"{sorted(both)[0]} is both a day off and a working day")
        return self


@dataclass(frozen=True)
class WorkCalendar:
    """Working days from ``first`` to ``last`` (both included)."""

    first: date
    last: date
    off: frozenset[date]  # weekdays that are not worked
    worked: frozenset[date]  # weekend days that are worked

    def is_working(self, d: date) -> bool:
        if d in self.worked:
            return True
        return d.weekday() < 5 and d not in self.off

    def rows(self) -> list[tuple[date, int, bool]]:
        """(day, working days strictly before it since ``first``, is it a working day)."""
        out = []
        before = 0
        d = self.first
        while d <= self.last:
            w = self.is_working(d)
            out.append((d, before, w))
            before += w
            d += timedelta(days=1)
        return out

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (Python twin of the SQL, for checks)."""
        d = start
        while days > 0:
            d += timedelta(days=1)
            days -= self.is_working(d)
        return d


def load_calendar(path: Path) -> WorkCalendar:
    spec = load_model(path, CalendarFile)
    first, last = date(spec.years.first, 1, 1), date(spec.years.last, 12, 31)
    lib = holidays.country_holidays("VN", years=range(spec.years.first, spec.years.last + 1))
    worked = {d for d in lib.weekend_workdays if first <= d <= last}
    off = {d for d in lib if d.weekday() < 5 and d not in worked}
    off |= {e.day for e in spec.days_off}
    off -= {e.day for e in spec.working_days}
    worked |= {e.day for e in spec.working_days}
    worked -= {e.day for e in spec.days_off}
    return WorkCalendar(first, last, frozenset(off), frozenset(worked))
