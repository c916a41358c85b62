"""Languages: Vietnamese first, English second.

Interface strings are gettext messages with English message ids, in
``locale/<lang>/LC_MESSAGES/*.po`` (one file per part of the interface: ``messages.po``
for the catalog pages, ``dashboard.po``, ``map.po``, …), read with Babel at start and merged.
Numbers and dates are formatted by Babel in the reader's locale: 98,5%; 1.234.567; 31/12/2026
in Vietnamese.
"""

from __future__ import annotations

import decimal
import io
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@lru_cache
def translations(locale: str) -> NullTranslations:
    files = sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not files:
        return NullTranslations()
    merged: Translations | None = None
    for po in files:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    assert merged is not None
    return merged


def gettext(message: str) -> str:
    return str(translations(current_locale.get()).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return str(translations(current_locale.get()).ngettext(singular, plural, n))


def pick(vi: str | None, en: str | None) -> str:
    """Choose between a Vietnamese and an English text from data (names, titles)."""
    if current_locale.get() == "en" and en:
        return en
    return vi or en or ""


def number(value: float | int | Decimal | None, digits: int = 1) -> str:
    """1.234.567 and 98,5 in Vietnamese; 1,234,567 and 98.5 in English."""
    if value is None:
        return "—"
    pattern = "#,##0" if digits == 0 else "#,##0." + "#" * digits
    # Half up, as reports are rounded by hand (Babel follows the context, half-even by default).
    with decimal.localcontext(rounding=decimal.ROUND_HALF_UP):
        return str(format_decimal(value, format=pattern, locale=current_locale.get()))


def percent(value: float | int | Decimal | None, digits: int = 1) -> str:
    """A value already in percent points: 98.5 -> '98,5%'."""
    if value is None:
        return "—"
    return number(value, digits) + "%"


def day(value: date | datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):  # an ISO date from an API answer
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return str(format_date(value, "dd/MM/yyyy", locale=current_locale.get()))


_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def period(value: str) -> str:
    """A period as officials write it: '2026-Q3' -> 'Quý III/2026', '2026-10' -> 'Tháng 10/2026',
    '2026-01-01..2026-11-24' -> '01/01/2026 – 24/11/2026' (English: 'Q3 2026', …)."""
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
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return str(format_datetime(value, "HH:mm dd/MM/yyyy", locale=current_locale.get()))
