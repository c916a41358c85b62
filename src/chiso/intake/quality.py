"""Data accountability (plan 131, section V.3): completeness, timeliness and outliers per unit
and feed, computed set-based in SQL over the stored versions, per day or month.

- completeness: periods (days, working days only where the contract says so, or months) in
  which the unit sent at least ``min_records`` records, over the periods the contract expects;
- timeliness: delay between a record's event time and its first arrival (first version's
  ``ingested_at``), as mean hours and the share within the contract's ``timely_hours``;
- outliers: robust z-score (median and MAD of the unit's own daily counts, or of the values of
  one indicator for ``stats.value``), flagged above the contract's threshold, never dropped.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from chiso.catalog.feeds import Contract
from chiso.clock import VIETNAM_NAME


def _day_expr(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"to_char(({column} AT TIME ZONE '{VIETNAM_NAME}'), 'YYYY-MM-DD')"
    return f"strftime('%Y-%m-%d', {column}, '+7 hours')"


def _hours_expr(dialect: str, later: str, earlier: str) -> str:
    if dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0"
    return f"(julianday({later}) - julianday({earlier})) * 24.0"


def _expected_days(contract: Contract, start: date, end: date) -> list[date]:
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    if contract.expect.working_days_only:
        days = [d for d in days if d.weekday() < 5]
    return days


def _window(dialect: str, column: str, start: date | None,
            end: date | None) -> tuple[list[str], dict[str, Any]]:
    """Conditions keeping the versions whose event day (Vietnam time) is in [start, end]."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    if dialect == "postgresql":  # a timestamp comparison, no per-row formatting
        if start:
            conds.append(f"{column} >= CAST(:lo AS timestamptz)")
            params["lo"] = f"{start.isoformat()}T00:00:00+07:00"
        if end:
            conds.append(f"{column} < CAST(:hi AS timestamptz)")
            params["hi"] = f"{(end + timedelta(days=1)).isoformat()}T00:00:00+07:00"
    else:
        day = _day_expr(dialect, column)
        if start:
            conds.append(f"{day} >= :lo")
            params["lo"] = start.isoformat()
        if end:
            conds.append(f"{day} <= :hi")
            params["hi"] = end.isoformat()
    return conds, params


def _daily(engine: Engine, contract: Contract, unit: str | None, start: date | None = None,
           end: date | None = None) -> tuple[list[Any], list[str]]:
    """(unit, day, records, mean delay hours, on-time records) per unit and event day, and
    every unit that ever sent the feed. With ``start`` or ``end``, only the versions whose
    event day falls in the range are read (a record is dated by the earliest event time and
    first arrival among those versions), so the work follows the range, not the history."""
    table = f"feed_{contract.table_key}_versions"
    event = contract.event_time
    d = engine.dialect.name
    day = _day_expr(d, "ev")
    hours = _hours_expr(d, "first_in", "ev")
    conds, params = _window(d, event, start, end)
    if unit:
        conds.append("unit = :unit")
        params["unit"] = unit
    where = f"WHERE {' AND '.join(conds)}" if conds else ""
    sql = f"""
        WITH firsts AS (
            SELECT unit, record_id, MIN({event}) AS ev, MIN(ingested_at) AS first_in
            FROM {table} {where} GROUP BY unit, record_id
        )
        SELECT unit, {day} AS day, COUNT(*) AS n, AVG({hours}) AS delay,
               SUM(CASE WHEN {hours} <= :timely THEN 1 ELSE 0 END) AS on_time
        FROM firsts GROUP BY unit, {day} ORDER BY unit, day
    """
    params["timely"] = contract.expect.timely_hours
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql), params).all())
        if not conds or conds == ["unit = :unit"]:
            return rows, sorted({r.unit for r in rows})
        # A unit silent in the range still owes its records: it is listed with none.
        q = f"SELECT DISTINCT unit FROM {table}" + (" WHERE unit = :unit" if unit else "")
        units = sorted(u for (u,) in conn.execute(text(q), {"unit": unit} if unit else {}))
    return rows, units


def _robust_z(values: list[float]) -> list[float]:
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    if mad == 0:
        return [0.0 if v == med else float("inf") * (1 if v > med else -1) for v in values]
    return [0.6745 * (v - med) / mad for v in values]


def _feed_report(engine: Engine, contract: Contract, unit: str | None, period: str,
                 start: date | None, end: date | None) -> tuple[list[dict[str, Any]],
                                                                 list[dict[str, Any]]]:
    if contract.publishes_values:
        return _stats_report(engine, contract, unit)
    rows, units = _daily(engine, contract, unit, start, end)
    by_unit: dict[str, dict[str, Any]] = {u: {} for u in units}
    for r in rows:
        by_unit[r.unit][r.day] = r
    if not rows and not (start and end and units):
        return [], []
    days_seen = sorted({r.day for r in rows})
    lo = start or date.fromisoformat(days_seen[0])
    hi = end or date.fromisoformat(days_seen[-1])
    expected = set(_expected_days(contract, lo, hi))
    every_day = [lo + timedelta(n) for n in range((hi - lo).days + 1)]
    out: list[dict[str, Any]] = []
    outliers: list[dict[str, Any]] = []
    for u, days in sorted(by_unit.items()):
        buckets: dict[str, list[date]] = defaultdict(list)
        for d in every_day:
            buckets[d.isoformat() if period == "day" else d.isoformat()[:7]].append(d)
        for key, ds in buckets.items():
            recs = [days[d.isoformat()] for d in ds if d.isoformat() in days]
            n = sum(int(r.n) for r in recs)
            owed = [d for d in ds if d in expected]
            if contract.expect.period == "day":
                due = len(owed)
                met = sum(1 for d in owed if d.isoformat() in days
                          and int(days[d.isoformat()].n) >= contract.expect.min_records)
            else:
                due, met = 1, int(n >= contract.expect.min_records)
            if not due and not n:
                continue
            on_time = sum(int(r.on_time or 0) for r in recs)
            delay = (sum(float(r.delay or 0) * int(r.n) for r in recs) / n) if n else None
            out.append({"feed": contract.feed, "unit": u, "period": key, "records": n,
                        "periods_due": due, "periods_met": met,
                        "completeness": round(met / due, 4) if due else None,
                        "mean_delay_hours": round(delay, 2) if delay is not None else None,
                        "on_time_share": round(on_time / n, 4) if n else None})
        series = [(d.isoformat(), float(days[d.isoformat()].n) if d.isoformat() in days else 0.0)
                  for d in sorted(expected)]
        if len(series) >= contract.outliers.min_history:
            for (day, value), z in zip(series, _robust_z([v for _, v in series]), strict=True):
                if abs(z) > contract.outliers.z:
                    outliers.append({"feed": contract.feed, "unit": u, "day": day,
                                     "metric": "records_per_day", "value": value,
                                     "z": None if abs(z) == float("inf") else round(z, 2)})
    return out, outliers


def _stats_report(engine: Engine, contract: Contract,
                  unit: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    where = "WHERE unit = :unit" if unit else ""
    sql = f"""SELECT unit, indicator, period, value, manual FROM feed_stats_value {where}
              ORDER BY unit, indicator, period"""
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {"unit": unit} if unit else {}).all()
    series: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        series[(r.unit, r.indicator)].append(r)
    out: list[dict[str, Any]] = []
    outliers: list[dict[str, Any]] = []
    for (u, indicator), rs in sorted(series.items()):
        manual = sum(1 for r in rs if r.manual)
        out.append({"feed": contract.feed, "unit": u, "indicator": indicator,
                    "periods": len(rs), "from_systems_share": round(1 - manual / len(rs), 4)})
        if len(rs) >= contract.outliers.min_history:
            for r, z in zip(rs, _robust_z([float(r.value) for r in rs]), strict=True):
                if abs(z) > contract.outliers.z:
                    outliers.append({"feed": contract.feed, "unit": u, "indicator": indicator,
                                     "period": r.period, "metric": "value", "value": r.value,
                                     "z": None if abs(z) == float("inf") else round(z, 2)})
    return out, outliers


#: The longest range one report covers: the work is per unit and day, so it is bounded.
MAX_SPAN_DAYS = 3_660  # ten years


class RangeError(ValueError):
    """A start or end that is not a date, or a range longer than ``MAX_SPAN_DAYS``."""


def _day(name: str, text: str | None) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise RangeError(f"{name}={text!r} is not a date; write YYYY-MM-DD") from exc
    if not 2000 <= day.year <= 2100:
        raise RangeError(f"{name}={text} is outside 2000-2100; check the year")
    return day


def date_range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """The report's range, checked before any work (``RangeError`` says what is wrong)."""
    lo, hi = _day("start", start), _day("end", end)
    if lo and hi and hi < lo:
        raise RangeError(f"end={hi} is before start={lo}")
    if lo and hi and (hi - lo).days + 1 > MAX_SPAN_DAYS:
        raise RangeError(f"{(hi - lo).days + 1} days from start to end; one report covers at "
                         f"most {MAX_SPAN_DAYS} days, ask for a shorter range")
    return lo, hi


def report(engine: Engine, feeds: list[Contract], unit: str | None, period: str = "month",
           start: str | None = None, end: str | None = None) -> dict[str, Any]:
    """The data-quality report of the ``feeds`` (their contracts); ``RangeError`` for a bad or
    too long range."""
    lo, hi = date_range(start, end)
    rows: list[dict[str, Any]] = []
    outliers: list[dict[str, Any]] = []
    for feed in feeds:
        r, o = _feed_report(engine, feed, unit, period, lo, hi)
        rows.extend(r)
        outliers.extend(o)
    return {"generated_at": datetime.now().astimezone().isoformat(), "period": period,
            "rows": rows, "outliers": outliers}
