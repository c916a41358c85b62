"""A sentence a person can act on, in Vietnamese or English, with Babel's number forms.

"Phường Hà Đông dự kiến đạt 91,2% vào 31/12/2026, thiếu 6,8 điểm so với chỉ tiêu 98%"

Numbers follow the one rule of :mod:`chiso.numbers`, as the pages and reports do.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from chiso import numbers
from chiso.outlook.series import TargetTerms
from chiso.outlook.status import Assessment, Status


def number(value: float, locale: str) -> str:
    return numbers.number(value, locale)


def amount(value: float, uom: str, locale: str) -> str:
    """98% ; 1.234 bộ dữ liệu"""
    return numbers.amount(value, uom, locale)


def _gap_unit(uom: str, locale: str) -> str:
    if uom == "%":
        return "điểm" if locale.startswith("vi") else "points"
    return uom


def day(d: date, locale: str) -> str:
    if locale.startswith("vi"):
        return str(format_date(d, "dd/MM/yyyy", locale=locale))
    return str(format_date(d, "d MMMM yyyy", locale=locale))


def sentence(unit_name: str, terms: TargetTerms, a: Assessment, locale: str = "vi") -> str:
    """What will happen at the deadline if nothing changes, and by how much it misses."""
    vi = locale.startswith("vi")
    fc = a.forecast
    target = amount(terms.threshold, terms.unit_of_measure, locale)
    if a.status is Status.no_data or fc.value is None:
        if vi:
            return (f"{unit_name} chưa đủ dữ liệu để dự báo chỉ tiêu {target} "
                    f"đến {day(terms.deadline, locale)}")
        return (f"{unit_name}: not enough data to forecast the {target} target "
                f"due {day(terms.deadline, locale)}")
    when = day(terms.deadline, locale)
    if a.known_only is not None and a.latest is not None:
        return _known_only(unit_name, terms, a.known_only, a.latest.at, locale)
    value = amount(fc.value, terms.unit_of_measure, locale)
    gap = terms.gap(fc.value)
    size = f"{number(abs(gap), locale)} {_gap_unit(terms.unit_of_measure, locale)}"
    if vi:
        verb = "đạt" if terms.higher_is_better else "ở mức"
        if round(gap, 1) >= 0:
            tail = (f"đạt chỉ tiêu {target}" if round(gap, 1) == 0
                    else f"vượt {size} so với chỉ tiêu {target}")
        elif terms.higher_is_better:
            tail = f"thiếu {size} so với chỉ tiêu {target}"
        else:
            tail = f"cần giảm thêm {size} để đạt chỉ tiêu {target}"
        if fc.pooled:  # the share of the window's records, not the deadline's month
            return (f"{unit_name} dự kiến {verb} {value} tính chung từ "
                    f"{day(terms.start, locale)} đến {when}, {tail}")
        return f"{unit_name} dự kiến {verb} {value} vào {when}, {tail}"
    if round(gap, 1) >= 0:
        tail = (f"meeting the {target} target" if round(gap, 1) == 0
                else f"{size} better than the {target} target")
    else:
        tail = f"{size} short of the {target} target"
    if fc.pooled:
        return (f"{unit_name} is forecast to reach {value} over "
                f"{day(terms.start, locale)} to {when}, {tail}")
    return f"{unit_name} is forecast to reach {value} by {when}, {tail}"


def _known_only(unit_name: str, terms: TargetTerms, known: float, at: date,
                locale: str) -> str:
    """Too little data to forecast, close to the deadline: what is known (the window's share
    so far, for a target judged on it), and how far it misses."""
    target = amount(terms.threshold, terms.unit_of_measure, locale)
    value = amount(known, terms.unit_of_measure, locale)
    when = day(terms.deadline, locale)
    size = (f"{number(abs(terms.gap(known)), locale)} "
            f"{_gap_unit(terms.unit_of_measure, locale)}")
    if locale.startswith("vi"):
        what = (f"số liệu tính chung từ {day(terms.start, locale)} đến {day(at, locale)}"
                if terms.pooled else f"số liệu gần nhất ({day(at, locale)})")
        short = (f"còn thiếu {size} so với" if terms.higher_is_better
                 else f"cần giảm thêm {size} để đạt")
        return (f"{unit_name} chưa đủ dữ liệu để dự báo; {what} là {value}, {short} "
                f"chỉ tiêu {target} hạn {when}")
    what = (f"the share over {day(terms.start, locale)} to {day(at, locale)}"
            if terms.pooled else f"the latest figure ({day(at, locale)})")
    short = "short of" if terms.higher_is_better else "above"
    return (f"{unit_name}: not enough data to forecast; {what} is {value}, {size} {short} "
            f"the {target} target due {when}")
