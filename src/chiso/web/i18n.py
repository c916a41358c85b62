"""Languages: Vietnamese first, English second.

Interface strings are gettext messages with English message ids, in
``locale/<lang>/LC_MESSAGES/messages.po``, read with Babel at start. Numbers and dates are
formatted by Babel in the reader's locale: 98,5%; 1.234.567; 31/12/2026 in Vietnamese.
"""

from __future__ import annotations

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
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


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
    return str(format_decimal(value, format=pattern, locale=current_locale.get()))


def percent(value: float | int | Decimal | None, digits: int = 1) -> str:
    """A value already in percent points: 98.5 -> '98,5%'."""
    if value is None:
        return "—"
    return number(value, digits) + "%"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    return str(format_date(value, "dd/MM/yyyy", locale=current_locale.get()))


def moment(value: datetime | None) -> str:
    if value is None:
        return "—"
    return str(format_datetime(value, "HH:mm dd/MM/yyyy", locale=current_locale.get()))
