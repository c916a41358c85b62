"""What the indicator pages show, arranged from the measurement room's typed answers
(``chiso.measurement.answers``): units in worst-first order, freshness and definitions in
words, the monthly trend as a small SVG, and the unit page's indicators. Nothing here computes
a value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Connection

from chiso.catalog.feeds import Contract
from chiso.clock import VIETNAM
from chiso.context import Runtime
from chiso.measurement import answers
from chiso.measurement.periods import PeriodError, parse_period
from chiso.web import format, i18n

Row = dict[str, Any]
Level = Literal["unit", "units", "city"]


def period_or_default(value: str | None, today: date) -> tuple[str, str | None]:
    """(the period to show, a complaint about the asked one or None). Default: year to date."""
    default = f"{today.year}-YTD"
    if not value:
        return default, None
    try:
        return parse_period(value, today).label, None
    except PeriodError as exc:
        return default, exc.args[0]  # a Said: the page says it in the reader's language


def period_choices(today: date, chosen: str) -> list[str]:
    """The picker's periods: the year to date, this year's quarters and months so far."""
    y = today.year
    out = [f"{y}-YTD"]
    out += [f"{y}-Q{q}" for q in range((today.month - 1) // 3 + 1, 0, -1)]
    out += [f"{y}-{m:02d}" for m in range(today.month, 0, -1)]
    if chosen not in out:
        out.insert(0, chosen)
    return out


def worst_first(rows: list[Row], direction: str) -> list[Row]:
    """Units in the order that needs attention first: the lowest value first when higher is
    better, the highest first when lower is better; units without a value last."""
    with_value = [r for r in rows if r["value"] is not None]
    without = sorted((r for r in rows if r["value"] is None), key=lambda r: str(r["unit"]))
    higher = direction == "higher_is_better"
    with_value.sort(key=lambda r: (r["value"] if higher else -r["value"], str(r["unit"])))
    return with_value + without


# -- words: freshness, the definition ------------------------------------------------------

def fresh(as_of: str | datetime | None, now: datetime | None = None) -> str:
    """'cập nhật 14:05, 2 phút trước' (the time in Hanoi; the date too when not today)."""
    if as_of is None:
        return i18n.gettext("no data received yet")
    stamp = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    local = stamp.astimezone(VIETNAM)
    shown = local.strftime("%H:%M")
    if local.date() != now.astimezone(VIETNAM).date():
        shown += " " + format.day(local)
    seconds = max(0.0, (now - stamp).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 1:
        ago = i18n.gettext("just now")
    elif minutes < 60:
        ago = i18n.ngettext("%(n)d minute ago", "%(n)d minutes ago", minutes) % {"n": minutes}
    elif minutes < 48 * 60:
        hours = minutes // 60
        ago = i18n.ngettext("%(n)d hour ago", "%(n)d hours ago", hours) % {"n": hours}
    else:
        days = minutes // (24 * 60)
        ago = i18n.ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}
    return i18n.gettext("updated %(time)s, %(ago)s") % {"time": shown, "ago": ago}


def vn(value: str | datetime | None) -> datetime | None:
    """A stored instant (UTC) as a clock in Hanoi shows it."""
    if value is None:
        return None
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(VIETNAM)


def field_label(contract: Contract, name: str) -> str:
    spec = contract.fields.get(name)
    vi = spec.headers[0] if spec is not None and spec.headers else None
    return i18n.pick(vi, name.replace("_", " "))


def value_label(contract: Contract, name: str, value: Any) -> str:
    if isinstance(value, bool):
        return i18n.gettext("yes") if value else i18n.gettext("no")
    spec = contract.fields.get(name)
    labels = spec.labels.get(str(value)) if spec is not None else None
    return i18n.pick(labels[0] if labels else None, str(value))


_OPS = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def describe(cond: dict[str, Any] | None, contract: Contract) -> str:
    """A condition of the definition (as the API returns it) in words, with the feed's own
    field names and value labels: 'Trạng thái là một trong: Đã giải quyết, Từ chối'."""
    if not cond:
        return ""
    if "all" in cond or "any" in cond:
        parts = [describe(c, contract) for c in cond.get("all") or cond.get("any") or []]
        joiner = f" {i18n.gettext('and')} " if "all" in cond else f" {i18n.gettext('or')} "
        return joiner.join(f"({p})" if (" " in p and len(parts) > 1) else p for p in parts)
    if "not" in cond:
        return f"{i18n.gettext('not')} ({describe(cond['not'], contract)})"
    name = cond["field"]
    subject = field_label(contract, name)
    op = cond["op"]
    if "other" in cond:
        text = f"{subject} {_OPS[op]} {field_label(contract, cond['other'])}"
        if cond.get("offset_days_from"):
            text += " + " + i18n.gettext("%(field)s days") % {
                "field": field_label(contract, cond["offset_days_from"])}
        return text
    if op == "is_null":
        return f"{subject} {i18n.gettext('is empty')}"
    if op == "not_null":
        return f"{subject} {i18n.gettext('has a value')}"
    if op in ("in", "not_in"):
        words = ", ".join(value_label(contract, name, v) for v in cond["value"])
        verb = i18n.gettext("is one of") if op == "in" else i18n.gettext("is none of")
        return f"{subject} {verb}: {words}"
    return f"{subject} {_OPS[op]} {value_label(contract, name, cond['value'])}"


def definition_words(ind: dict[str, Any], contract: Contract) -> list[tuple[str, str]]:
    """(what, words) lines: the population, what counts, what it is divided by, in the words
    of the feed's ``contract``."""
    out: list[tuple[str, str]] = []
    out.append((i18n.gettext("Placed in time by"), field_label(contract, ind["time_field"])))
    if ind.get("where"):
        out.append((i18n.gettext("Records considered"), describe(ind["where"], contract)))

    def measure(m: dict[str, Any]) -> str:
        what = {"count": i18n.gettext("number of records"),
                "sum": i18n.gettext("sum of %(field)s"),
                "latest": i18n.gettext("latest published %(field)s"),
                "distinct": i18n.gettext("number of distinct %(field)s")}[m["agg"]]
        if m.get("field"):
            what = what % {"field": field_label(contract, m["field"])}
        if m.get("stats_indicator"):
            what += f" «{m['stats_indicator']}»"
        if m.get("where"):
            what += " " + i18n.gettext("where") + " " + describe(m["where"], contract)
        return what

    if ind.get("numerator"):
        out.append((i18n.gettext("Numerator"), measure(ind["numerator"])))
        out.append((i18n.gettext("Denominator"), measure(ind["denominator"])))
    if ind.get("value"):
        out.append((i18n.gettext("Value"), measure(ind["value"])))
    if ind.get("baseline"):
        base = ind["baseline"]
        when = (i18n.gettext("the same period a year earlier")
                if base["mode"] == "same_period_previous_year" else format.period(base["period"]))
        form = (i18n.gettext("reduction") if ind.get("change_form") == "reduction_pct"
                else i18n.gettext("growth"))
        out.append((i18n.gettext("Compared with"), f"{when} ({form}, %)"))
    return out


# -- the monthly trend as a small SVG --------------------------------------------------------

@dataclass
class Bar:
    period: str
    value: float | None
    x: float
    y: float
    height: float
    row: Row | None


@dataclass
class Chart:
    width: int
    height: int
    top: float
    baseline: float
    bar_width: float
    bars: list[Bar]
    peak: float

    @property
    def has_data(self) -> bool:
        return any(b.value is not None for b in self.bars)


def monthly_chart(rows: list[tuple[str, Row | None]], percent: bool) -> Chart:
    """Bars of the months' values; the scale is 0–100 for a percentage, else 0 to the peak."""
    width, height, top, bottom, left = 640, 200, 16.0, 24.0, 8.0
    values = [r["value"] for _, r in rows if r is not None and r["value"] is not None]
    peak = 100.0 if percent else max([abs(v) for v in values] + [0.0])
    if not peak:
        peak = 1.0
    elif not percent:  # a round top: 1, 2 or 5 times a power of ten
        power = 10 ** math.floor(math.log10(peak))
        peak = next(m * power for m in (1, 2, 5, 10) if m * power >= peak)
    slot = (width - left) / max(len(rows), 1)
    baseline = height - bottom
    bars = []
    for i, (period, row) in enumerate(rows):
        value = row["value"] if row is not None else None
        h = 0.0 if value is None else max(0.0, min(value, peak)) / peak * (baseline - top)
        bars.append(Bar(period, value, left + i * slot + slot * 0.15, baseline - h, h, row))
    return Chart(width, height, top, baseline, slot * 0.7, bars, peak)


def unit_indicators(rt: Runtime, conn: Connection, today: date, code: str
                    ) -> tuple[str, list[dict[str, Any]]]:
    """For the unit page: each indicator with data for the unit in the year to date, with its
    value and the city's beside it (one values call for the unit, one for the city, each an
    answer of ``answers.Values``). A group code rolls up its members."""
    ytd = f"{today.year}-YTD"
    vals = answers.Values(rt, conn, today)
    out = []
    for s in answers.summaries(rt):
        mine = vals.one(s.code, ytd, code)
        if mine is None or not mine["records"]:
            continue
        out.append({**s.model_dump(), "value": mine, "city": vals.one(s.code, ytd)})
    return ytd, out
