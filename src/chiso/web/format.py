"""How every page phrases numbers, dates, periods and times, in the reader's language (set per
request in :data:`chiso.web.i18n.current_locale`): 98,5%; 1.234.567; 31/12/2026; Quý III/2026;
"cập nhật 14:05, 2 phút trước". The number rule itself is :mod:`chiso.numbers`, which the
outlook's sentences and the reports follow too. Each function is a template filter
(:data:`FILTERS`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_datetime, format_timedelta
from markupsafe import Markup, escape

from chiso import numbers
from chiso.clock import VIETNAM
from chiso.web.i18n import current_locale, pick

# Vietnam keeps one time zone, without daylight saving.
ZONE = VIETNAM


def number(value: float | int | Decimal | None, digits: int = 1) -> str:
    """1.234.567 and 98,5 in Vietnamese; 1,234,567 and 98.5 in English; '—' for none."""
    if value is None:
        return "—"
    return numbers.number(value, current_locale.get(), digits)


def percent(value: float | int | Decimal | None, digits: int = 1) -> str:
    """A value already in percent points: 98.5 -> '98,5%'."""
    if value is None:
        return "—"
    return numbers.percent(value, current_locale.get(), digits)


def amount(value: float | None, uom: str | None) -> str:
    """A tile's number as a person reads it: 98,5% or 1.234 (its unit written beside it)."""
    if value is None:
        return "—"
    if uom == "%":
        return percent(value)
    whole = float(value).is_integer() or abs(value) >= 100
    return number(value, 0 if whole else 1)


def measured(value: float | None, unit_of_measure: str) -> str:
    """A value with its unit of measure: 98,5% / 1.234 hồ sơ / 72,3 điểm ('points')."""
    if value is None:
        return "—"
    if unit_of_measure == "%":
        return percent(value)
    if unit_of_measure == "điểm":
        return f"{number(value)} {pick('điểm', 'points')}"
    return f"{number(value)} {unit_of_measure}"


def day(value: date | datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):  # an ISO date from an API answer
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return str(format_date(value, "dd/MM/yyyy", locale=current_locale.get()))


_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def period(value: str | date) -> str:
    """A period as officials write it: '2026-Q3' -> 'Quý III/2026', '2026-10' -> 'Tháng 10/2026',
    '2026-01-01..2026-11-24' -> '01/01/2026 – 24/11/2026' (English: 'Q3 2026', …)."""
    if isinstance(value, date):
        return day(value)
    try:
        return _period(value)
    except (ValueError, KeyError, IndexError):
        return value  # not a period (an error page shows what was asked, as it was asked)


def _period(value: str) -> str:
    vi = current_locale.get() == "vi"
    if ".." in value:
        start, _, end = value.partition("..")
        return f"{period(start)} – {period(end)}"
    parts = value.split("-")
    if len(parts) == 3:
        return day(date.fromisoformat(value))
    if len(parts) == 2:
        year, part = parts
        if part.startswith("Q"):
            return f"Quý {_ROMAN[part[1]]}/{year}" if vi else f"Q{part[1]} {year}"
        if part.startswith("H"):
            return f"6 tháng {'đầu' if part[1] == '1' else 'cuối'} năm {year}" if vi else (
                f"H{part[1]} {year}")
        if part == "YTD":
            return f"Từ đầu năm {year}" if vi else f"{year} to date"
        return f"Tháng {int(part)}/{year}" if vi else f"{int(part):02d}/{year}"
    return f"Năm {value}" if vi else value


def moment(value: datetime | str | None) -> str:
    """An instant as its own offset shows it: 14:05 31/12/2026."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return str(format_datetime(value, "HH:mm dd/MM/yyyy", locale=current_locale.get()))


def ago(value: str | datetime | None) -> str:
    """'2 phút trước' / '2 minutes ago'."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return str(format_timedelta(when - datetime.now(UTC), locale=current_locale.get(),
                                add_direction=True, threshold=1.1))


def span(seconds: float | None) -> str:
    """A length of time, roughly: '3 phút' / '3 minutes' ('—' for none)."""
    if seconds is None:
        return "—"
    return str(format_timedelta(timedelta(seconds=seconds), locale=current_locale.get(),
                                threshold=1.1))


def clock(value: str | datetime | None) -> str:
    """The local time of day of an instant: 14:05 (the dashboard's 'cập nhật 14:05')."""
    if not value:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(ZONE).strftime("%H:%M")


def highlight(text: str, part: str | None) -> Markup:
    """The text, escaped, with its first occurrence of ``part`` marked (a target's own words
    inside a row that holds several targets)."""
    if not part or part not in text:
        return escape(text)
    before, _, after = text.partition(part)
    return escape(before) + Markup("<mark>") + escape(part) + Markup("</mark>") + escape(after)


FILTERS: dict[str, Callable[..., Any]] = {
    "number": number, "percent": percent, "amount": amount, "measured": measured, "day": day,
    "period": period, "moment": moment, "ago": ago, "clock": clock, "highlight": highlight,
    "span": span}
