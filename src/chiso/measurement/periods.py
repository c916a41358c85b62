"""Periods: the spans of Vietnamese days that values are asked for.

| string | span |
|---|---|
| ``2026-10-15`` | one day |
| ``2026-10`` | a month |
| ``2026-Q3`` | a quarter |
| ``2026-H1`` | a half-year |
| ``2026-9T`` | the first 6, 9 or 12 months (a statistics release's cumulative period) |
| ``2026`` | a year |
| ``2026-YTD`` | 1 January 2026 to today (Vietnam time), or to 31 December for a past year |
| ``2026-01-15..2026-03-31`` | any span of days, both ends included |

Days are calendar days in Vietnam's time zone (+07:00, no daylight saving): a record falls in
the day its time field shows on a clock in Hanoi.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from chiso.clock import VIETNAM
from chiso.text import Said

VN = VIETNAM

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_HALF = re.compile(r"^(\d{4})-H([12])$")
_YEAR = re.compile(r"^(\d{4})$")
_YTD = re.compile(r"^(\d{4})-YTD$")
_CUMULATIVE = re.compile(r"^(\d{4})-(6|9|12)T$")  # a statistics release's first 6, 9, 12 months


class PeriodError(ValueError):
    """A period string that cannot be read; the message (a :class:`~chiso.text.Said`, which
    pages say in the reader's language) says which forms are accepted."""


FORMS = ("2026-10-15, 2026-10, 2026-Q3, 2026-H1, 2026-9T, 2026, 2026-YTD or "
         "2026-01-15..2026-03-31")


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # day | month | quarter | half | cumulative | year | ytd | range
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: Vietnamese midnight to the midnight after ``end``."""
        lo = datetime.combine(self.start, time(), VN).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(), VN).astimezone(UTC)
        return lo, hi

    def previous_year(self) -> Period:
        """The same span one year earlier (2026-Q3 -> 2025-Q3; 29 February -> 28 February)."""
        def back(d: date) -> date:
            day = min(d.day, calendar.monthrange(d.year - 1, d.month)[1])
            return date(d.year - 1, d.month, day)
        label = {"day": back(self.start).isoformat(), "month": f"{self.start.year - 1}-"
                 f"{self.start.month:02d}", "year": str(self.start.year - 1)}.get(self.kind)
        if label is None and self.kind in ("quarter", "half", "cumulative", "ytd"):
            label = f"{self.start.year - 1}{self.label[4:]}"
        if label is None:
            label = f"{back(self.start).isoformat()}..{back(self.end).isoformat()}"
        end = back(self.end)
        if self.end.month == 2 and self.end.day == calendar.monthrange(self.end.year, 2)[1]:
            end = date(self.end.year - 1, 2, calendar.monthrange(self.end.year - 1, 2)[1])
        return Period(label, self.kind, back(self.start), end)


    def previous(self) -> Period | None:
        """The period before: 2026-03 -> 2026-02, 2026-Q1 -> 2025-Q4, 2026-H2 -> 2026-H1,
        2026 -> 2025; None for days, spans and year-to-date (they have no "before")."""
        y = self.start.year
        if self.kind == "month":
            m = self.start.month
            return parse_period(f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}")
        if self.kind == "quarter":
            q = (self.start.month + 2) // 3
            return parse_period(f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}")
        if self.kind == "half":
            return parse_period(f"{y - 1}-H2" if self.start.month == 1 else f"{y}-H1")
        if self.kind == "year":
            return parse_period(str(y - 1))
        return None

    @classmethod
    def month_of(cls, day: date) -> Period:
        return parse_period(f"{day:%Y-%m}")

    @classmethod
    def quarter_of(cls, day: date) -> Period:
        return parse_period(f"{day.year}-Q{(day.month + 2) // 3}")

    @classmethod
    def ytd(cls, today: date) -> Period:
        """1 January to ``today``."""
        return parse_period(f"{today.year}-YTD", today)

    @classmethod
    def current(cls, today: date) -> list[Period]:
        """The periods whose values move while data arrives today: this month, this quarter
        and the year to date."""
        return [cls.month_of(today), cls.quarter_of(today), cls.ytd(today)]

    @classmethod
    def choices(cls, today: date) -> list[Period]:
        """Periods a reader can pick, newest first: the year to date, the months, quarters
        and halves of this year that have begun, this year and the last."""
        y = today.year
        labels = [f"{y}-{m:02d}" for m in range(today.month, 0, -1)]
        labels += [f"{y}-Q{q}" for q in range((today.month + 2) // 3, 0, -1)]
        labels += [f"{y}-H{h}" for h in range(1 if today.month <= 6 else 2, 0, -1)]
        return [cls.ytd(today), *(parse_period(x) for x in labels), parse_period(str(y)),
                parse_period(str(y - 1))]


YOUNG_DAYS = 7  # in its first week a month holds too little data to open a page on


def opening_month(today: date) -> str:
    """The month a page opens on when the reader names none: this month, or the last complete
    month while this month is in its first ``YOUNG_DAYS`` days and has almost no data yet."""
    if today.day <= YOUNG_DAYS:
        last = today.replace(day=1) - timedelta(days=1)
        return f"{last.year}-{last.month:02d}"
    return f"{today.year}-{today.month:02d}"


def today_vn(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(VN).date()


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


FIRST_YEAR, LAST_YEAR = 1900, 2200  # the years a period may fall in


def parse_period(text: str, today: date | None = None) -> Period:
    """Read a period string (see the module's table); PeriodError names the accepted forms.
    A period outside ``FIRST_YEAR``..``LAST_YEAR`` is refused too: no plan measures it, and
    the day arithmetic around it would overflow."""
    p = _parse_period(text, today)
    if p.start.year < FIRST_YEAR or p.end.year > LAST_YEAR:
        raise PeriodError(Said("'%(text)s': periods run from %(first)s to %(last)s",
                               text=text, first=FIRST_YEAR, last=LAST_YEAR))
    return p


def _parse_period(text: str, today: date | None) -> Period:
    s = text.strip()
    try:
        if ".." in s:
            a, b = s.split("..", 1)
            start, end = date.fromisoformat(a), date.fromisoformat(b)
            if end < start:
                raise PeriodError(Said("'%(text)s': the span ends before it starts",
                                       text=text))
            return Period(s, "range", start, end)
        if m := _DAY.match(s):
            d = date(int(m[1]), int(m[2]), int(m[3]))
            return Period(s, "day", d, d)
        if m := _MONTH.match(s):
            y, mo = int(m[1]), int(m[2])
            return Period(s, "month", date(y, mo, 1), _month_end(y, mo))
        if m := _QUARTER.match(s):
            y, q = int(m[1]), int(m[2])
            return Period(s, "quarter", date(y, 3 * q - 2, 1), _month_end(y, 3 * q))
        if m := _HALF.match(s):
            y, h = int(m[1]), int(m[2])
            return Period(s, "half", date(y, 6 * h - 5, 1), _month_end(y, 6 * h))
        if m := _YEAR.match(s):
            y = int(m[1])
            return Period(s, "year", date(y, 1, 1), date(y, 12, 31))
        if m := _CUMULATIVE.match(s):
            y, n = int(m[1]), int(m[2])
            return Period(s, "cumulative", date(y, 1, 1), _month_end(y, n))
        if m := _YTD.match(s):
            y = int(m[1])
            t = today or today_vn()
            end = date(y, 12, 31) if t.year > y else t
            if t.year < y:
                raise PeriodError(Said("'%(text)s': the year has not started", text=text))
            return Period(s, "ytd", date(y, 1, 1), end)
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(Said("'%(text)s' is not a real period: %(why)s", text=text,
                               why=exc)) from exc
    raise PeriodError(Said("'%(text)s' is not a period; write %(forms)s", text=text,
                           forms=FORMS))


def published_period(text: str) -> Period:
    """The span of a period a statistical system publishes a value for (stats.value), or a
    statistics release's cumulative months (stats.grdp: 2026-9T is 1 January to 30 September)."""
    p = parse_period(text)
    if p.kind in ("ytd", "range"):
        raise PeriodError(Said("'%(text)s': a published period is a day, month, quarter, "
                               "half or year", text=text))
    return p
