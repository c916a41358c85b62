"""Reading values from the day state: any period, one unit, a group, each unit, or the city.

Every value is built from the day state, never from the records: additive indicators sum
``num``/``den``/``records`` over the period's days and the asked units (the months the period
covers whole from ``m_month``, the days around them from ``m_day``) (a ratio is
``sum(num) / sum(den) * scale``: a ratio of sums, never a mean of ratios); distinct counts
count distinct keys over the days and units; latest measures take, per unit, the published
value whose period lies in the asked one and ends last (ties: the finer period, then the later
``published_at``), summed over units (or, ``rollup: city_published``, the city's own row).

``as_of``: the commit time of the feed's last accepted batch, i.e. the value is true of every
record accepted up to then; ``changed_at``: when the rows it rests on last changed. An
indicator placed by a due time (``comes_due``) counts, as of ``as_of``, only the records that
have come due by then (their due day is over, Vietnam time) or are settled: the ``m_pending``
rows whose due day is ``as_of``'s day or later are subtracted.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, and_, func, literal, or_, select, union_all

from chiso.catalog.indicators import PERIOD_FEEDS, Indicator, Kind, Measurement
from chiso.catalog.models import Direction
from chiso.measurement import engine as eng
from chiso.measurement.compile import compile_condition
from chiso.measurement.periods import VN, Period, parse_period, today_vn
from chiso.store.tables import (
    FEED_TABLES,
    intake_batches,
    m_day,
    m_distinct,
    m_month,
    m_pending,
    m_published,
)

CITY = "UBNDTP"
_MONTH = re.compile(r"\d{4}-\d{2}")  # a calendar month's label
Level = Literal["unit", "units", "city"]


@dataclass
class Value:
    indicator: str
    unit: str | None  # None: the city, rolled up
    period: str
    start: date
    end: date
    value: float | None
    numerator: float | None
    denominator: float | None
    records: int
    as_of: datetime | None
    changed_at: datetime | None
    baseline: float | None = None  # change: the baseline period's count or sum
    baseline_period: str | None = None
    covers: str | None = None  # published values: the published period(s) the figure is for
    source: str | None = None  # the indicator the value is read from, when another (fallback)
    parts: dict[str, float | None] | None = None  # kind lowest: each part's value, by code

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("start", "end"):
            d[k] = d[k].isoformat()
        for k in ("as_of", "changed_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


@dataclass(frozen=True)
class FeedTime:
    """A feed's as-of already read (:func:`feed_as_of`), for many :func:`values` calls on
    one connection that need not each read it again."""

    at: datetime | None


def feed_as_of(conn: Connection, feed: str) -> datetime | None:
    return conn.execute(select(func.max(intake_batches.c.received_at)).where(
        intake_batches.c.feed == feed, intake_batches.c.status == "accepted")).scalar()


def _own_mark(conn: Connection, m: Measurement, code: str) -> tuple[Any, ...] | None:
    return state_mark(conn, m, code, own=True)


def state_mark(conn: Connection, m: Measurement, code: str, own: bool = False
               ) -> tuple[Any, ...] | None:
    """A small fingerprint of everything the indicator's values are read from: the feed's
    last batch and the totals of its monthly roll-up (or published values) and of its
    not-yet-due rows, so that a batch and a recompute both move it; one statement. Equal
    marks: equal values (for the same period, unit, level and day). None for distinct counts
    (their state has no cheap total)."""
    ind = m.indicators[code]
    shape = eng.shape(ind)
    reads = [] if own else [*ind.of, *([ind.fallback] if ind.fallback else [])]
    if reads:  # derived, or standing in for: the marks of everything it reads
        mine = () if shape == "derived" else _own_mark(conn, m, code)
        marks = [mine, *(state_mark(conn, m, c) for c in reads)]
        return None if any(x is None for x in marks) else tuple(marks)
    if shape == "distinct":
        return None
    batch = select(func.max(intake_batches.c.id)).where(
        intake_batches.c.feed == ind.feed).scalar_subquery()
    if shape == "published":
        t = m_published
        totals = [func.count(), func.sum(t.c.value), func.max(t.c.as_of)]
    else:
        t = m_month
        totals = [func.count(), func.sum(t.c.records), func.sum(t.c.num), func.sum(t.c.den),
                  func.max(t.c.as_of)]
    pending = [select(agg).where(m_pending.c.indicator == code).scalar_subquery()
               for agg in (func.count(), func.sum(m_pending.c.records),
                           func.max(m_pending.c.as_of))] if ind.comes_due is not None else []
    return tuple(conn.execute(select(batch, *totals, *pending).where(
        t.c.indicator == code)).one())


def cutoff_day(as_of: datetime | None) -> date | None:
    """The first Vietnamese day not yet over at ``as_of``: records due on it or later have
    not come due."""
    if as_of is None:
        return None
    return (as_of.astimezone(VN) if as_of.tzinfo else as_of + timedelta(hours=7)).date()


def _not_due(conn: Connection, ind: Indicator, p: Period, units: list[str] | None,
             by_unit: bool, cutoff: date | None
             ) -> dict[str | None, tuple[float, float, int]]:
    """Per unit (or None), what has not come due by ``cutoff``: to subtract from the sums."""
    if ind.comes_due is None:
        return {}
    q = select(m_pending.c.unit if by_unit else literal(None), func.sum(m_pending.c.num),
               func.sum(m_pending.c.den), func.sum(m_pending.c.records)).where(
        m_pending.c.indicator == ind.code, m_pending.c.day >= p.start,
        m_pending.c.day <= p.end)
    if cutoff is not None:  # without any batch nothing is stored, so nothing to leave out
        q = q.where(m_pending.c.due_day >= cutoff)
    if units is not None:
        q = q.where(m_pending.c.unit.in_(units))
    if by_unit:
        q = q.group_by(m_pending.c.unit)
    return {r[0]: (float(r[1] or 0), float(r[2] or 0), int(r[3] or 0))
            for r in conn.execute(q) if r[3] is not None}


def whole_months(p: Period) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """``p`` split into the calendar months it covers whole (first and last month's first
    day, or None) and the day spans before and after them."""
    first = p.start if p.start.day == 1 else (p.start.replace(day=1) + timedelta(days=32)
                                              ).replace(day=1)
    last = p.end.replace(day=1)
    if (p.end + timedelta(days=1)).day != 1:  # the end's month is not whole
        last = (last - timedelta(days=1)).replace(day=1)
    if first > last:
        return [(p.start, p.end)], None
    days = []
    if p.start < first:
        days.append((p.start, first - timedelta(days=1)))
    tail = (last + timedelta(days=32)).replace(day=1)
    if tail <= p.end:
        days.append((tail, p.end))
    return days, (first, last)


def _sums(conn: Connection, ind: Indicator, p: Period, units: list[str] | None,
          by_unit: bool, cutoff: date | None = None
          ) -> dict[str | None, tuple[float, float, int, datetime | None]]:
    """Per unit (or None), the period's sums: whole months from ``m_month``, the days around
    them from ``m_day``, less what has not come due by ``cutoff``."""
    spans, months = whole_months(p)
    parts = []
    for table, where in (
            [(m_day, or_(*(and_(m_day.c.day >= a, m_day.c.day <= b) for a, b in spans)))]
            if spans else []) + (
            [(m_month, and_(m_month.c.month >= months[0], m_month.c.month <= months[1]))]
            if months else []):
        q = select(table.c.unit, table.c.num, table.c.den, table.c.records,
                   table.c.as_of).where(table.c.indicator == ind.code, where)
        if units is not None:
            q = q.where(table.c.unit.in_(units))
        parts.append(q)
    rows = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("s")
    key = rows.c.unit if by_unit else None
    q2 = select(*([key] if key is not None else []), func.sum(rows.c.num),
                func.sum(rows.c.den), func.sum(rows.c.records), func.max(rows.c.as_of))
    if key is not None:
        q2 = q2.group_by(key)
    out: dict[str | None, tuple[float, float, int, datetime | None]] = {}
    for r in conn.execute(q2):
        u = r[0] if by_unit else None
        rest = r[1:] if by_unit else r
        if rest[2] is None:
            continue
        out[u] = (float(rest[0] or 0), float(rest[1] or 0), int(rest[2]), rest[3])
    for u, (n, d, k) in _not_due(conn, ind, p, units, by_unit, cutoff).items():
        if u not in out:
            continue
        num, den, records, changed = out[u]
        if records - k <= 0:  # nothing behind the value has come due yet
            del out[u]
        else:
            out[u] = (num - n, den - d, records - k, changed)
    return out


def _distinct(conn: Connection, ind: Indicator, p: Period, units: list[str] | None,
              by_unit: bool) -> dict[str | None, tuple[float, float, int, datetime | None]]:
    cols = [func.count(m_distinct.c.key.distinct()), func.sum(m_distinct.c.records),
            func.max(m_distinct.c.as_of)]
    q = select(*([m_distinct.c.unit] if by_unit else []), *cols).where(
        m_distinct.c.indicator == ind.code, m_distinct.c.day >= p.start,
        m_distinct.c.day <= p.end)
    if units is not None:
        q = q.where(m_distinct.c.unit.in_(units))
    if by_unit:
        q = q.group_by(m_distinct.c.unit)
    out: dict[str | None, tuple[float, float, int, datetime | None]] = {}
    for r in conn.execute(q):
        u = r[0] if by_unit else None
        rest = r[1:] if by_unit else r
        if rest[1] is None:
            continue
        out[u] = (float(rest[0]), 0.0, int(rest[1]), rest[2])
    return out


def _published(conn: Connection, ind: Indicator, p: Period, units: list[str] | None,
               level: Level, today: date | None = None
               ) -> dict[str | None, tuple[dict[str, float], int, datetime | None, str]]:
    """Per unit (or None for the city), per side, the latest published value in ``p``: the
    latest period, then the longest span, then a system's figure before one typed by hand
    (a later hand-typed value never replaces what a statistical system published for the
    same period), then the latest publication.

    A figure counts when its period lies in ``p``; a span that runs to today or later (the
    year to date, a target judged so far) also counts a figure published by then for a
    period that starts in the span and ends later in the span's last year: a figure for
    "2026" published in November is shown from then on, for the period it covers."""
    t = today or today_vn()
    inside = m_published.c.period_end <= p.end
    if p.end >= t:
        reaches = and_(m_published.c.period_end <= date(p.end.year, 12, 31),
                       m_published.c.published_at < p.utc_bounds()[1])
        inside = or_(inside, reaches)
    q = _published_query(ind, p.start, p.end, units, level).where(inside)
    return _pick_published(ind, list(conn.execute(q)), units, level)


def _published_query(ind: Indicator, start: date, end: date, units: list[str] | None,
                     level: Level) -> Any:
    """The published rows of ``ind`` whose period starts from ``start`` to ``end``."""
    q = select(m_published).where(m_published.c.indicator == ind.code,
                                  m_published.c.period_start >= start,
                                  m_published.c.period_start <= end)
    if units is not None and level != "city":
        q = q.where(m_published.c.unit.in_(units))
    # a fixed order: ties between figures go the same way in every read
    return q.order_by(m_published.c.side, m_published.c.source, m_published.c.record_id)


def _counts_in(r: Any, p: Period, today: date) -> bool:
    """Does published row ``r`` count for ``p`` (the rule of :func:`_published`, in Python)?"""
    if not p.start <= r.period_start <= p.end:
        return False
    if r.period_end <= p.end:
        return True
    at = r.published_at if r.published_at.tzinfo else r.published_at.replace(tzinfo=UTC)
    return (p.end >= today and r.period_end <= date(p.end.year, 12, 31)
            and at < p.utc_bounds()[1])


def _pick_published(ind: Indicator, rows: list[Any], units: list[str] | None, level: Level
                    ) -> dict[str | None, tuple[dict[str, float], int, datetime | None, str]]:
    """Per unit (or None for the city), the best of ``rows`` as :func:`_published` says."""
    # per (unit, published period), per side, the figure that counts: a system's before one
    # typed by hand, then the later publication
    cands: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        got = cands.setdefault((r.unit, r.period), {})
        cur = got.get(r.side)
        if cur is None or (not r.manual, r.published_at) > (not cur.manual, cur.published_at):
            got[r.side] = r
    sides = [name for name, _ in ind.measures()]
    # per unit, the period whose figures give every side (a ratio's two sides may be two
    # records of one release), ending last; then the finer or the longer one (``ties``)
    best: dict[str, tuple[Any, dict[str, Any]]] = {}
    for (unit, _), got in cands.items():
        if not all(n in got for n in sides):
            continue
        r = got[sides[0]]
        span = (r.period_end - r.period_start).days
        rank = (r.period_end, span if ind.ties == "longer" else -span,
                all(not x.manual for x in got.values()), max(x.published_at for x in got.values()))
        if unit not in best or rank > best[unit][0]:
            best[unit] = (rank, got)
    per_unit = {u: got for u, (_, got) in best.items()}

    def pack(rows: list[dict[str, Any]]
             ) -> tuple[dict[str, float], int, datetime | None, str]:
        vals = {n: float(sum(r[n].value for r in rows)) for n in sides}
        stamps = [r[n].as_of for r in rows for n in sides]
        covers = ", ".join(sorted({r[n].period for r in rows for n in sides}))
        return vals, len(rows) * len(sides), max(stamps) if stamps else None, covers

    out: dict[str | None, tuple[dict[str, float], int, datetime | None, str]] = {}
    if level == "city":
        if ind.rollup == "city_published" or set(per_unit) <= {CITY}:
            if CITY in per_unit:
                out[None] = pack([per_unit[CITY]])
        else:
            members = [s for u, s in per_unit.items() if u != CITY]
            if members:
                out[None] = pack(members)
        return out
    if level == "unit":
        rows = [s for u, s in per_unit.items() if units is None or u in units]
        if rows:
            out[units[0] if units and len(units) == 1 else None] = pack(rows)
        return out
    return {u: pack([s]) for u, s in per_unit.items()}


def _finish(ind: Indicator, num: float, den: float) -> float | None:
    scale = float(ind.scale)
    if ind.kind is Kind.ratio:
        return num / den * scale if den else None
    return num


def _published_values(ind: Indicator, p: Period,
                      got: dict[str | None, tuple[dict[str, float], int, datetime | None, str]],
                      level: Level, label: str | None, as_of: datetime | None) -> list[Value]:
    out = []
    for u, (vals, records, changed, covers) in sorted(got.items(), key=lambda x: str(x[0])):
        num = vals.get("numerator", vals.get("value", 0.0))
        den = vals.get("denominator")
        v = (num / den * float(ind.scale) if den else None) if ind.kind is Kind.ratio \
            else num
        out.append(Value(ind.code, u if level == "units" else label, p.label, p.start, p.end,
                         v, num, den, records, as_of, changed, covers=covers))
    return out


def published_series(conn: Connection, m: Measurement, code: str, periods: list[str],
                     unit: str | None = None, level: Level | None = None,
                     members: list[str] | None = None, today: date | None = None,
                     feed_time: FeedTime | None = None) -> list[list[Value]] | None:
    """``values(conn, m, code, period, unit, level, members, today)`` for each of
    ``periods``, read in one query over the published figures (a series of months reads
    each figure once, not once a month); None when ``code`` is not a published measure, or
    is one read from other indicators (kind ``lowest``, a ``fallback``): read those with
    :func:`values`."""
    ind = m.indicators[code]
    if (eng.shape(ind) != "published" or not periods or ind.kind is Kind.lowest
            or ind.fallback is not None):
        return None
    ps = [parse_period(label, today) for label in periods]
    level = level or ("unit" if unit else "city")
    units = None if level == "city" else (members if members is not None else
                                          ([unit] if unit else None))
    as_of = feed_as_of(conn, ind.feed) if feed_time is None else feed_time.at
    t = today or today_vn()
    rows = list(conn.execute(_published_query(ind, min(p.start for p in ps),
                                              max(p.end for p in ps), units, level)))
    label = None if level == "city" else unit
    return [_published_values(ind, p, _pick_published(
        ind, [r for r in rows if _counts_in(r, p, t)], units, level), level, label, as_of)
            for p in ps]


def month_series(conn: Connection, m: Measurement, code: str, periods: list[str],
                 unit: str | None = None, level: Level | None = None,
                 members: list[str] | None = None, today: date | None = None,
                 feed_time: FeedTime | None = None) -> list[list[Value]] | None:
    """``values(conn, m, code, period, unit, level, members, today)`` for each of
    ``periods``, all calendar months (``2026-03``), read in two queries over the monthly
    roll-up and what has not come due (a series of months, not a read a month); None when
    that does not apply: ``code`` keeps no additive day state, compares with a baseline (kind
    ``change``), stands in for another (``fallback``), a period is not a month, or ``level``
    is ``units``. Read those with :func:`values`."""
    ind = m.indicators[code]
    level = level or ("unit" if unit else "city")
    if (eng.shape(ind) != "day" or ind.kind is Kind.change or ind.fallback is not None
            or level == "units" or not periods or not all(_MONTH.fullmatch(p) for p in periods)):
        return None
    ps = [parse_period(label, today) for label in periods]
    units = None if level == "city" else (members if members is not None else
                                          ([unit] if unit else None))
    as_of = feed_as_of(conn, ind.feed) if feed_time is None else feed_time.at
    cutoff = cutoff_day(as_of)
    first, last = min(p.start for p in ps), max(p.start for p in ps)
    q = select(m_month.c.month, func.sum(m_month.c.num), func.sum(m_month.c.den),
               func.sum(m_month.c.records), func.max(m_month.c.as_of)).where(
        m_month.c.indicator == code, m_month.c.month >= first, m_month.c.month <= last
    ).group_by(m_month.c.month)
    if units is not None:
        q = q.where(m_month.c.unit.in_(units))
    sums = {r[0]: (float(r[1] or 0), float(r[2] or 0), int(r[3]), r[4])
            for r in conn.execute(q) if r[3] is not None}
    late: dict[date, tuple[float, float, int]] = {}
    if ind.comes_due is not None:
        pq = select(m_pending.c.day, func.sum(m_pending.c.num), func.sum(m_pending.c.den),
                    func.sum(m_pending.c.records)).where(
            m_pending.c.indicator == code, m_pending.c.day >= first,
            m_pending.c.day <= max(p.end for p in ps)).group_by(m_pending.c.day)
        if cutoff is not None:
            pq = pq.where(m_pending.c.due_day >= cutoff)
        if units is not None:
            pq = pq.where(m_pending.c.unit.in_(units))
        for day, n, d, k in conn.execute(pq):
            if k is not None:
                month = day.replace(day=1)
                was = late.get(month, (0.0, 0.0, 0))
                late[month] = (was[0] + float(n or 0), was[1] + float(d or 0), was[2] + int(k))
    label = None if level == "city" else unit
    out: list[list[Value]] = []
    for p in ps:
        got = sums.get(p.start)
        if got is None:
            out.append([])
            continue
        num, den, records, changed = got
        n, d, k = late.get(p.start, (0.0, 0.0, 0))
        if records - k <= 0:  # nothing behind the value has come due yet
            out.append([])
            continue
        num, den, records = num - n, den - d, records - k
        out.append([Value(code, label, p.label, p.start, p.end, _finish(ind, num, den), num,
                          den if ind.kind is Kind.ratio else None, records, as_of, changed,
                          None, None)])
    return out


def values(conn: Connection, m: Measurement, code: str, period: str,
           unit: str | None = None, level: Level | None = None,
           members: list[str] | None = None, today: date | None = None,
           at: datetime | None = None, feed_time: FeedTime | None = None) -> list[Value]:
    """The indicator's values for ``period``.

    Kind ``lowest``: per unit, the smallest of its ``of`` indicators' values (none unless
    every one has a value; ``parts`` gives each). ``fallback``: where this indicator has no
    value for a unit (or the city), the fallback's value stands in, with ``source`` naming
    it; this indicator's own value always wins.

    ``feed_time``: the feed's as-of when the caller has read it (else it is read here).

    ``at``: judge what has come due as of this time (default: the feed's as-of, the commit
    time of its last accepted batch); only indicators with ``comes_due`` depend on it.

    ``level``: ``unit`` (default when ``unit`` is given): one value for the unit (a group
    code's ``members`` are rolled up); ``units``: one value per unit with data (within
    ``members`` if given); ``city`` (default otherwise): every unit rolled up."""
    ind = m.indicators[code]
    args = (period, unit, level, members, today, at)
    own = (_lowest(conn, m, ind, *args, feed_time) if ind.kind is Kind.lowest
           else _values(conn, m, code, *args, feed_time))
    if ind.fallback is None:
        return own
    have = {v.unit for v in own if v.value is not None}
    stand_in = [replace(v, indicator=code, source=ind.fallback)
                for v in _values(conn, m, ind.fallback, *args, None)
                if v.unit not in have and v.value is not None]
    return sorted([v for v in own if v.value is not None] + stand_in,
                  key=lambda v: str(v.unit))


def _lowest(conn: Connection, m: Measurement, ind: Indicator, period: str, unit: str | None,
            level: Level | None, members: list[str] | None, today: date | None,
            at: datetime | None, feed_time: FeedTime | None) -> list[Value]:
    parts = {c: {v.unit: v for v in _values(conn, m, c, period, unit, level, members, today,
                                            at, feed_time)} for c in ind.of}
    out = []
    for u in sorted(set.intersection(*(set(p) for p in parts.values())), key=str):
        each = {c: parts[c][u] for c in ind.of}
        known = [v for v in each.values() if v.value is not None]
        low = min(known, key=lambda v: v.value or 0.0) if len(known) == len(each) else None
        first = next(iter(each.values()))
        stamps = [v.as_of for v in each.values() if v.as_of]
        changes = [v.changed_at for v in each.values() if v.changed_at]
        out.append(Value(
            ind.code, u, first.period, first.start, first.end,
            low.value if low else None, low.numerator if low else None,
            low.denominator if low else None, sum(v.records for v in each.values()),
            max(stamps) if stamps else None, max(changes) if changes else None,
            covers=low.covers if low else None,
            parts={c: v.value for c, v in each.items()}))
    return out


def _values(conn: Connection, m: Measurement, code: str, period: str,
            unit: str | None = None, level: Level | None = None,
            members: list[str] | None = None, today: date | None = None,
            at: datetime | None = None, feed_time: FeedTime | None = None) -> list[Value]:
    ind = m.indicators[code]
    p = parse_period(period, today)
    level = level or ("unit" if unit else "city")
    units = members if members is not None else ([unit] if unit else None)
    if level == "city":
        units = None
    as_of = feed_as_of(conn, ind.feed) if feed_time is None else feed_time.at
    cutoff = cutoff_day(at or as_of)
    shape = eng.shape(ind)
    label = None if level == "city" else unit
    if shape == "published":
        return _published_values(ind, p, _published(conn, ind, p, units, level, today),
                                 level, label, as_of)
    by_unit = level == "units"
    got2 = (_distinct(conn, ind, p, units, by_unit) if shape == "distinct"
            else _sums(conn, ind, p, units, by_unit, cutoff))
    out = []
    base: dict[str | None, tuple[float, float, int, datetime | None]] = {}
    bp: Period | None = None
    if ind.kind is Kind.change:
        assert ind.baseline is not None
        bp = (p.previous_year() if ind.baseline.mode == "same_period_previous_year"
              else parse_period(ind.baseline.period or "", today))
        base = _sums(conn, ind, bp, units, by_unit, cutoff)
    for u, (num, den, records, changed) in sorted(got2.items(), key=lambda x: str(x[0])):
        v = _finish(ind, num, den)
        b = None
        if ind.kind is Kind.change:
            b = base.get(u, (0.0, 0.0, 0, None))[0]
            if not b:
                v = None
            elif ind.change_form == "reduction_pct":
                v = (b - num) / b * float(ind.scale)
            else:
                v = (num - b) / b * float(ind.scale)
        out.append(Value(code, u if by_unit else label, p.label, p.start, p.end, v,
                         num, den if ind.kind is Kind.ratio else None, records, as_of,
                         changed, b, bp.label if bp else None))
    return out


def day_series(conn: Connection, code: str, period: str, unit: str | None,
               m: Measurement) -> list[dict[str, Any]]:
    """Per day of ``period``: the additive state (num, den, records) for a unit or the city,
    of the records that have come due as of the feed's as-of (see the module)."""
    ind = m.indicators[code]
    if eng.shape(ind) != "day":
        return []
    p = parse_period(period)
    q = (select(m_day.c.day, func.sum(m_day.c.num), func.sum(m_day.c.den),
                func.sum(m_day.c.records))
         .where(m_day.c.indicator == code, m_day.c.day >= p.start, m_day.c.day <= p.end)
         .group_by(m_day.c.day).order_by(m_day.c.day))
    if unit:
        q = q.where(m_day.c.unit == unit)
    not_due: dict[date, tuple[float, float, int]] = {}
    if ind.comes_due is not None:
        cutoff = cutoff_day(feed_as_of(conn, ind.feed))
        pq = (select(m_pending.c.day, func.sum(m_pending.c.num), func.sum(m_pending.c.den),
                     func.sum(m_pending.c.records))
              .where(m_pending.c.indicator == code, m_pending.c.day >= p.start,
                     m_pending.c.day <= p.end)
              .group_by(m_pending.c.day))
        if cutoff is not None:
            pq = pq.where(m_pending.c.due_day >= cutoff)
        if unit:
            pq = pq.where(m_pending.c.unit == unit)
        not_due = {r[0]: (float(r[1]), float(r[2]), int(r[3])) for r in conn.execute(pq)}
    out = []
    for r in conn.execute(q):
        n, d, k = not_due.get(r[0], (0.0, 0.0, 0))
        num, den, records = float(r[1]) - n, float(r[2]) - d, int(r[3]) - k
        if records > 0:
            out.append({"day": r[0].isoformat(), "value": _finish(ind, num, den),
                        "numerator": num, "denominator": den, "records": records})
    return out


# -- target progress ------------------------------------------------------------------------

def judged_periods(binding: Any, deadline: date, today: date | None = None) -> list[str]:
    """The periods a target is judged on: the binding's, or the year to date of its deadline
    (from ``window_start`` if given; a ``cumulative`` binding from ``window_start`` whatever
    the deadline's year), up to today or the deadline, whichever is first."""
    if binding.periods:
        return list(binding.periods)
    t = today or today_vn()
    start = date(deadline.year, 1, 1)
    if binding.window_start:
        ws = date.fromisoformat(binding.window_start)
        start = ws if getattr(binding, "cumulative", False) else max(start, ws)
    end = min(deadline, t)
    if end < start:
        end = start
    return [f"{start.isoformat()}..{end.isoformat()}"]


def met(direction: str, value: float | None, threshold: Decimal) -> bool | None:
    if value is None:
        return None
    return Direction(direction).met(Decimal(str(round(value, 9))), threshold)


def records_query(conn: Connection, m: Measurement, ind: Indicator, p: Period,
                  unit: str | None) -> Any:
    """The latest records in the indicator's population for ``p`` (and ``unit``), with
    whether each one counts in the numerator (or value)."""
    latest, _ = FEED_TABLES[ind.feed]
    dialect = conn.dialect.name
    where = [eng.population(ind, latest, dialect)]
    if m.contracts[ind.feed].publishes_values:
        codes = ind.stats_indicators
        where.append(latest.c.indicator.in_(codes))
    elif ind.feed in PERIOD_FEEDS:  # a release's figures: those any of its measures reads
        measures = [ms for c in [ind.code, *ind.of] for _, ms in m.indicators[c].measures()]
        where.append(or_(*(compile_condition(ms.where, latest, dialect, False)
                           for ms in measures)))
    else:
        lo, hi = p.utc_bounds()
        col = latest.c[ind.time_field]
        where += [col >= lo, col < hi]
    if unit:
        where.append(latest.c.unit == unit)
    return latest, where
