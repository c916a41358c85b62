"""Numbers as Vietnamese administration writes them, for every room that phrases one (the
outlook's sentences, the pages, the reports): 1.234.567 and 98,5% in Vietnamese, 1,234,567
and 98.5% in English; at most ``digits`` decimals, none when the number rounds to a whole one,
halves rounded up as reports are rounded by hand."""

from __future__ import annotations

import decimal
from decimal import Decimal

from babel.numbers import format_decimal

Number = float | int | Decimal


def number(value: Number, locale: str, digits: int = 1) -> str:
    pattern = "#,##0" if digits == 0 else "#,##0." + "#" * digits
    # Babel rounds as the decimal context says: half-even by default.
    with decimal.localcontext(rounding=decimal.ROUND_HALF_UP):
        return str(format_decimal(value, format=pattern, locale=locale))


def percent(value: Number, locale: str, digits: int = 1) -> str:
    """A value already in percent points: 98.5 -> '98,5%'."""
    return number(value, locale, digits) + "%"


def amount(value: Number, unit_of_measure: str, locale: str, digits: int = 1) -> str:
    """A value with its unit of measure: '98%', '1.234 bộ dữ liệu'."""
    if unit_of_measure == "%":
        return percent(value, locale, digits)
    return f"{number(value, locale, digits)} {unit_of_measure}"
