"""The outlook on stored data: a target's monthly series at a unit (or the city) from the
measurement room's values, run through the pure engine (assess, forecast, status, progress
measure, sentence); and task warnings from the catalog's deadlines (docs/outlook.md, "Live").
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, select

from chiso.catalog.indicators import Binding, Indicator, Kind
from chiso.catalog.loader import Catalog
from chiso.catalog.models import Target, Task
from chiso.measurement import values as mv
from chiso.measurement.periods import parse_period
from chiso.outlook import milestones
from chiso.outlook.evidence import leads_of_tasks
from chiso.outlook.evidence import stored as stored_evidence
from chiso.outlook.pooled import running_shares
from chiso.outlook.progress import LABELS_VI as PROGRESS_VI
from chiso.outlook.sentence import sentence
from chiso.outlook.series import Point, TargetTerms, month_index
from chiso.outlook.status import Assessment, Status, assess
from chiso.outlook.tasks import LABELS_VI as TASK_VI
from chiso.outlook.tasks import task_warnings
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import assignments

CITY_NAME = {"vi": "Thành phố Hà Nội", "en": "Hanoi"}
EVIDENCE_NOTE = ("Evidence (a file or link attached to a task or milestone by an officer of a "
                 "lead unit) is stored: a task with evidence is not due with no evidence, a "
                 "milestone with evidence is not slipping, and evidence marked completes "
                 "closes the attaching unit's part of the task; a task several units lead is "
                 "closed for the city when each of them has closed its part.")


class OutlookError(LookupError):
    """An unknown plan, target or unit, or a target with no bound indicator."""


def _target(catalog: Catalog, plan: str, target_id: str) -> Target:
    entry = catalog.plans.get(plan)
    found = [t for t in entry.targets if t.id == target_id] if entry else []
    if not found:
        raise OutlookError(f"no target {target_id} in plan {plan}")
    return found[0]


def series_start(target: Target, window_start: str | None, today: date,
                 cumulative: bool = False) -> date:
    """The first month of the series: the year of the deadline (or this year, for a target
    due in a later year), or the binding's window start if later; a cumulative target's
    window start whatever the year."""
    start = date(min(target.deadline.year, today.year), 1, 1)
    if window_start:
        ws = date.fromisoformat(window_start)
        start = ws if cumulative else max(start, ws)
    return start


def monthly_points(conn: Connection, catalog: Catalog, code: str, unit: str | None,
                   start: date, until: date, cumulative: bool = False) -> list[Point]:
    """One point per month with a value, from ``start``'s month to ``until``'s month, dated
    at the month's end (or ``until`` for the month in progress), with the value's numerator
    and denominator when it has them. ``cumulative``: each point is the value from ``start``
    to that date (a running total: a distinct count over the span, not the sum of monthly
    counts), else the month's own value."""
    m = catalog.measurement
    assert m is not None
    members = catalog.units.expand(unit) if unit and unit in catalog.units.groups else None
    points = []
    read = mv.FeedTime(mv.feed_as_of(conn, m.indicators[code].feed))  # once for every month
    level: mv.Level = "unit" if unit else "city"
    ats, asked = [], []
    for i in range(month_index(start), month_index(until) + 1):
        year, month = divmod(i, 12)
        label = f"{year}-{month + 1:02d}"
        at = min(parse_period(label).end, until)
        ats.append(at)
        asked.append(f"{start.isoformat()}..{at.isoformat()}" if cumulative else label)
    # published figures and months of the day state: every month from one read; the rest
    # (running totals, baselines, stand-ins): a read a month
    series = mv.published_series(conn, m, code, asked, unit, level, members, today=until,
                                 feed_time=read) or \
        mv.month_series(conn, m, code, asked, unit, level, members, today=until,
                        feed_time=read) or \
        [mv.values(conn, m, code, a, unit, level, members, today=until, feed_time=read)
         for a in asked]
    for at, got in zip(ats, series, strict=True):
        v = got[0] if got else None
        if v is not None and v.value is not None:
            # the counts behind a share let a commune's handful of records be judged as counts
            points.append(Point(at, float(v.value), v.numerator, v.denominator))
    return points


def judged_on_window(binding: Binding, ind: Indicator) -> bool:
    """Whether the target is judged on its window's share (a ratio over the year to date of
    its deadline, ``measurement.values.judged_periods``), not on a month's value: so are
    ratios with no judged periods that are not running totals."""
    return ind.kind is Kind.ratio and not binding.periods and not binding.cumulative


def unit_names(catalog: Catalog, unit: str | None) -> dict[str, str]:
    if unit is None:
        return dict(CITY_NAME)
    if unit in catalog.units.units:
        u = catalog.units.units[unit]
        return {"vi": u.name, "en": u.name_en}
    if unit in catalog.units.groups:
        g = catalog.units.groups[unit]
        return {"vi": g.name, "en": g.name_en}
    raise OutlookError(f"no unit {unit!r}")


@lru_cache(maxsize=8192)
def _assessed(terms: TargetTerms, points: tuple[Point, ...], today: date) -> Assessment:
    """:func:`assess` remembered on its exact inputs, which it is a pure function of: the
    open-data change log, the alerts, the pages and the reports ask for the same target at
    the same unit on the same day again and again, and fitting its forecast is most of the
    cost; new data makes new points, so a new entry (the oldest are dropped)."""
    return assess(terms, list(points), today)


def target_outlook(conn: Connection, catalog: Catalog, plan: str, target_id: str,
                   unit: str | None, today: date) -> dict[str, Any]:
    """Status, forecast at the deadline with its 80% interval, the Open SDG progress measure
    and the sentence (vi, en) of a bound target at ``unit`` (None: the city)."""
    m = catalog.measurement
    if m is None:
        raise OutlookError("no indicator definitions in the catalog")
    target = _target(catalog, plan, target_id)
    names = unit_names(catalog, unit)
    pb = m.plans.get(plan)
    binding = pb.bindings.get(target_id) if pb else None
    base: dict[str, Any] = {
        "plan": plan, "target": target_id, "unit": unit, "unit_name": names["vi"],
        "direction": target.direction.value, "threshold": float(target.threshold),
        "unit_of_measure": target.unit_of_measure, "deadline": target.deadline.isoformat(),
        "today": today.isoformat(), "note": binding.note if binding else None,
        "note_vi": binding.note_vi if binding else None}
    if binding is None or not binding.indicators:
        reason = binding.awaiting_data if binding else "no binding in the catalog"
        return {**base, "awaiting_data": reason, "status": None}
    code = binding.indicators[0]
    start = series_start(target, binding.window_start, today, binding.cumulative)
    until = min(today, target.deadline)
    points = monthly_points(conn, catalog, code, unit, start, until, binding.cumulative)
    ind = m.indicators[code]
    terms = TargetTerms(direction=target.direction, threshold=float(target.threshold),
                        deadline=target.deadline, start=start,
                        unit_of_measure=target.unit_of_measure,
                        upper=100.0 if ind.unit_of_measure == "%" else None,
                        pooled=judged_on_window(binding, ind))
    a = _assessed(terms, tuple(points), today)
    fc = a.forecast
    status = a.status.value
    milestone = None
    if binding.cumulative:  # judged against this year's milestone as well as the deadline
        ladder = milestones.milestones(conn, plan_key(plan), target, binding)
        milestone = milestones.judge(terms, points, today, ladder)
        if milestone is not None:
            status = milestones.worse(status, milestone["status"])
    st = Status(status)
    return {
        **base, "indicator": code, "level": binding.level,
        "series": [{"month": p.at.isoformat()[:7], "at": p.at.isoformat(), "value": p.value,
                    "to_date": to_date}
                   for p, to_date in zip(points, running_shares(points) if fc.pooled
                                         else [None] * len(points), strict=True)],
        "status": st.value, "status_en": st.en, "flagged": st.flagged,
        "deadline_status": a.status.value, "milestone": milestone,
        "probability": a.probability,
        "latest": {"at": a.latest.at.isoformat(), "value": a.latest.value} if a.latest else None,
        "forecast": {"value": fc.value, "low": fc.low, "high": fc.high, "se": fc.se,
                     "interval": "80%" if fc.has_interval else None, "method": fc.method,
                     "observations": fc.observations, "horizon_months": fc.horizon,
                     "pooled": fc.pooled},
        "progress": {**asdict(a.progress), "category": a.progress.category.value,
                     "category_vi": PROGRESS_VI[a.progress.category]},
        "sentence": {"vi": sentence(names["vi"], terms, a, "vi"),
                     "en": sentence(names["en"], terms, a, "en")},
    }


def task_view(catalog: Catalog, unit: str | None) -> frozenset[str] | None:
    """The units whose part of a task a view sees: a unit, a group's members, None: the city."""
    if unit is None:
        return None
    return frozenset(catalog.units.expand(unit) if unit in catalog.units.groups else [unit])


def _unit_tasks(conn: Connection, catalog: Catalog, unit: str | None) -> list[tuple[str, Task]]:
    """(plan number, task) pairs; with ``unit``, the tasks it leads or coordinates."""
    wanted: set[tuple[str, str]] | None = None
    if unit is not None:
        codes = catalog.units.expand(unit) if unit in catalog.units.groups else [unit]
        wanted = {(k, i) for k, i in conn.execute(
            select(assignments.c.plan_key, assignments.c.item_id).where(
                assignments.c.item_kind == "task", assignments.c.unit_code.in_(codes)))}
    out = []
    for number, entry in catalog.plans.items():
        key = plan_key(number)
        for task in entry.tasks:
            if wanted is None or (key, task.id) in wanted:
                out.append((number, task))
    return out


def unit_task_warnings(conn: Connection, catalog: Catalog, unit: str | None, today: date,
                       days: int = 30) -> dict[str, Any]:
    """Overdue tasks, tasks due within ``days`` with no evidence, and milestones slipping."""
    if unit is not None:
        unit_names(catalog, unit)  # raises for an unknown unit
    pairs = _unit_tasks(conn, catalog, unit)
    by_id = {(n, t.id): t for n, t in pairs}
    warnings: list[dict[str, Any]] = []
    evidence = stored_evidence(conn)
    leads = leads_of_tasks(conn)
    view = task_view(catalog, unit)
    for number in catalog.plans:
        key = plan_key(number)
        tasks = [t for n, t in pairs if n == number]
        for w in task_warnings(tasks, evidence.get(key, []), today, days,
                               leads={t.id: leads.get((key, t.id), set()) for t in tasks},
                               view=view):
            task = by_id[(number, w.task)]
            warnings.append({
                "plan": number, "task": w.task, "title": task.title, "kind": w.kind.value,
                "kind_vi": TASK_VI[w.kind], "due": w.due.isoformat(), "days": w.days,
                "milestone": w.milestone,
                "milestone_text": task.milestones[w.milestone].text
                if w.milestone is not None else None})
    counts: dict[str, int] = {}
    for row in warnings:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return {"unit": unit, "today": today.isoformat(), "days": days, "tasks": len(pairs),
            "counts": counts, "evidence": {"stored": True, "note": EVIDENCE_NOTE},
            "warnings": warnings}
