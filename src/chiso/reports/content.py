"""What a report says, as data: the figures of one report kind for one period and one unit
(or the city), gathered from the rooms' typed answers as of the report's cut-off day.

:func:`gather` returns a :class:`ReportData`; :mod:`chiso.reports.wording` turns it into
sentences and tables, and the writers turn those into files. Nothing here formats a number.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from chiso.catalog.loader import Catalog
from chiso.catalog.reports import ReportKind
from chiso.context import Runtime
from chiso.dashboard.sme_programme import SmeProgramme, programme
from chiso.intake import quality
from chiso.measurement import values as mv
from chiso.measurement.periods import Period, PeriodError, parse_period
from chiso.measurement.progress import record_units
from chiso.outlook.answers import Outlook, target_outlook
from chiso.outlook.tally import TaskTally, task_tally
from chiso.scoring.answers import Ranking, RankingRow, ScoringError, ranking
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import assignments

CADENCE_PERIOD = {"monthly": "month", "quarterly": "quarter", "semiannual": "half",
                  "nine_months": "range", "annual": "year"}
CITY = "city"


class ReportError(ValueError):
    """A report that cannot be built as asked; the message says what to change."""


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True)


class TargetLine(_Data):
    """One target of a plan as the report shows it."""

    plan: str
    target: str
    row: int | None
    text: str = Field(description="the threshold's words, verbatim")
    measure_en: str
    outlook: Outlook


class OverdueTask(_Data):
    plan: str
    task: str
    title: str
    due: date
    days: int
    lead: list[str]


class Standing(_Data):
    """Units of one kind at the head and the tail of a ranking (or one unit's place)."""

    kind: str
    method: str
    of: int
    leading: list[RankingRow]
    lagging: list[RankingRow]


class RankTable(_Data):
    """One scoring method's full ranking of one kind of unit, for the ranking report."""

    method: str
    version: str
    provisional: bool
    kind: str
    previous_period: str | None
    rows: list[RankingRow] = Field(description="best first, with the change of rank and the "
                                               "criteria that moved it")


class FeedGap(_Data):
    """A unit whose feed was incomplete or late in the period."""

    feed: str
    unit: str
    unit_name: str
    completeness: float | None
    on_time_share: float | None
    records: int


class ReportData(_Data):
    kind: str
    period: str
    period_kind: str
    start: date
    end: date
    as_of: date = Field(description="the cut-off day: data up to its end")
    next_start: date
    next_end: date
    scope: str = Field(description="city, department, agency or commune")
    unit: str | None = Field(description="None: the city")
    unit_name_vi: str
    unit_name_en: str
    plans: list[str]
    targets: list[TargetLine]
    tasks: TaskTally
    overdue: list[OverdueTask]
    standings: list[Standing]
    gaps: list[FeedGap]
    rankings: list[RankTable] = Field(default_factory=list,
                                      description="only for a kind with a rankings section")
    sme: SmeProgramme | None = Field(default=None, description="only for a kind with an "
                                     "sme_programme section: the city's or the commune's")


EXAMPLES = {"month": "2026-11", "quarter": "2026-Q4", "half": "2026-H1", "year": "2026",
            "range": "2026-9M"}
_NINE = re.compile(r"^(\d{4})-9M$")


def nine_months(year: int) -> Period:
    """January to September of ``year``: the nine-month report's span."""
    return Period(f"{year}-01-01..{year}-09-30", "range", date(year, 1, 1), date(year, 9, 30))


def report_period(kind: ReportKind, label: str) -> Period:
    """The period ``label`` names, which must be of the kind's cadence (a month for monthly;
    for the nine-month report ``2026-9M``, January to September)."""
    if m := _NINE.match(label.strip()):
        period = nine_months(int(m[1]))
    else:
        try:
            period = parse_period(label)
        except PeriodError as exc:
            raise ReportError(str(exc)) from exc
    wanted = CADENCE_PERIOD[kind.cadence]
    nine = nine_months(period.start.year)
    if period.kind != wanted or (wanted == "range" and (period.start, period.end) !=
                                 (nine.start, nine.end)):
        span = "nine months" if wanted == "range" else f"a {wanted}"
        raise ReportError(f"the {kind.id} report is for {span}: write e.g. "
                          f"{EXAMPLES[wanted]}, not {label!r}")
    return nine if wanted == "range" else period


def report_label(period: Period) -> str:
    """The period as a report names it: ``2026-11``, ``2026-Q4``, ``2026-9M``."""
    return f"{period.start.year}-9M" if period.kind == "range" else period.label


def following(period: Period) -> tuple[date, date]:
    """The span of the same length that comes after ``period`` (next month, quarter, …)."""
    start = period.end + timedelta(days=1)
    if period.kind == "range" and (period.start.month, period.end.month) == (1, 9):
        return start, date(start.year, 12, 31)  # after nine months: the last quarter
    if period.kind == "month":
        return parse_period(f"{start:%Y-%m}").start, parse_period(f"{start:%Y-%m}").end
    months = {"quarter": 3, "half": 6, "year": 12}.get(period.kind)
    if months is None:
        return start, start + timedelta(days=period.days - 1)
    m = start.month - 1 + months
    end = date(start.year + m // 12, m % 12 + 1, 1) - timedelta(days=1)
    return start, end


def scope_of(rt: Runtime, kind: ReportKind, unit: str) -> tuple[str, str | None]:
    """(scope, unit code or None for the city) for ``unit`` ("city" or a unit code)."""
    if unit == CITY:
        scope, code = "city", None
    else:
        found = rt.catalog.units.units.get(unit)
        if found is None:
            raise ReportError(f"no unit {unit!r}: give a unit code (chiso units find NAME) "
                              "or 'city'")
        scope, code = str(found.kind), unit
    if scope not in kind.scopes:
        raise ReportError(f"the {kind.id} report has no scope {scope!r}: units of kinds "
                          f"{', '.join(kind.scopes)} issue it")
    return scope, code


def _assigned_targets(conn: Connection, catalog: Catalog, plan: str, unit: str,
                      as_of: date) -> set[str]:
    """The targets a unit reports on: those assigned to it, and those measured per unit on
    the records (``level: records``) where it has records."""
    q = select(assignments.c.item_id).where(
        assignments.c.plan_key == plan_key(plan), assignments.c.item_kind == "target",
        assignments.c.unit_code == unit)
    mine = {r for (r,) in conn.execute(q)}
    m = catalog.measurement
    pb = m.plans.get(plan) if m else None
    if m is None or pb is None:
        return mine
    for t in catalog.plans[plan].targets:
        b = pb.bindings.get(t.id)
        if b is not None and b.level == "records" and t.id not in mine:
            periods = mv.judged_periods(b, t.deadline, as_of)
            if unit in record_units(conn, m, b.indicators[0], periods, as_of):
                mine.add(t.id)
    return mine


def _standings(rt: Runtime, kind: ReportKind, period: Period, as_of: date,
               scope: str, unit: str | None) -> list[Standing]:
    method = kind.ranking.method
    kinds = ["department", "commune"] if unit is None else [scope]
    out: list[Standing] = []
    for k in kinds:
        try:
            answer = ranking(rt, method, k, period, as_of)
        except ScoringError:
            continue  # the method ranks no units of this kind
        rows = answer.units
        n = kind.ranking.count
        if unit is None:
            head, tail = rows[:n], rows[-n:][::-1] if len(rows) > n else []
        else:
            head, tail = [r for r in rows if r.unit == unit], []
        out.append(Standing(kind=k, method=method, of=len(rows), leading=head, lagging=tail))
    return out


def _rankings(rt: Runtime, kind: ReportKind, period: Period, as_of: date,
              unit: str | None) -> list[RankTable]:
    wanted = kind.rankings
    methods = rt.catalog.methods
    if wanted is None or methods is None:
        return []
    out: list[RankTable] = []
    for method in wanted.methods or sorted(methods.versions):
        for k in wanted.kinds:
            try:
                answer: Ranking = ranking(rt, method, k, period, as_of)
            except ScoringError:
                continue  # the method ranks no units of this kind
            rows = [r for r in answer.units if unit is None or r.unit == unit]
            rows = [r.model_copy(update={"explanation": r.explanation[:wanted.movers]})
                    for r in rows]
            out.append(RankTable(method=method, version=answer.version,
                                 provisional=answer.provisional, kind=k,
                                 previous_period=answer.previous_period, rows=rows))
    return out


def _gaps(rt: Runtime, kind: ReportKind, period: Period, unit: str | None) -> list[FeedGap]:
    feeds = [c for _, c in sorted(rt.catalog.feeds.items()) if not c.publishes_values]
    got = quality.report(rt.engine, feeds, unit, "month", period.start.isoformat(),
                         period.end.isoformat())
    units = rt.catalog.units.units
    bar = kind.accountability
    out = []
    for row in got["rows"]:
        full = row["completeness"] is None or row["completeness"] >= bar.completeness
        timely = row["on_time_share"] is None or row["on_time_share"] >= bar.on_time_share
        if full and timely:
            continue
        u = units.get(row["unit"])
        out.append(FeedGap(feed=row["feed"], unit=row["unit"],
                           unit_name=u.name if u else row["unit"],
                           completeness=row["completeness"],
                           on_time_share=row["on_time_share"], records=row["records"]))
    out.sort(key=lambda g: (g.completeness if g.completeness is not None else 1.0,
                            g.on_time_share if g.on_time_share is not None else 1.0, g.unit))
    return out


def gather(rt: Runtime, kind_id: str, period_label: str, unit: str) -> ReportData:
    """The figures of report ``kind_id`` for ``period_label`` and ``unit`` ("city" or a unit
    code), as of the period's last day."""
    kind = rt.catalog.reports.get(kind_id)
    if kind is None:
        known = ", ".join(sorted(rt.catalog.reports)) or "none"
        raise ReportError(f"no report kind {kind_id!r}; known kinds: {known}")
    period = report_period(kind, period_label)
    scope, code = scope_of(rt, kind, unit)
    as_of = period.end
    if kind.due_month is not None:  # due within its own year: data up to the day before
        as_of = min(as_of, date(period.end.year, kind.due_month, kind.due_day)
                    - timedelta(days=1))
    methods = rt.catalog.methods
    if methods is not None and kind.ranking.method in methods.versions:
        try:
            methods.in_force(kind.ranking.method, as_of)
        except KeyError as exc:
            raise ReportError(f"{exc.args[0]}: the {kind.id} report for {period_label} "
                              "cannot rank units; build it for a period the method covers"
                              ) from exc
    next_start, next_end = following(period)
    catalog = rt.catalog
    lines: list[TargetLine] = []
    overdue: list[OverdueTask] = []
    with rt.engine.connect() as conn:
        for plan in kind.plans:
            entry = catalog.plans[plan]
            mine = None if code is None else _assigned_targets(conn, catalog, plan, code, as_of)
            for t in entry.targets:
                if mine is not None and t.id not in mine:
                    continue
                lines.append(TargetLine(
                    plan=plan, target=t.id, row=t.row, text=t.threshold_text,
                    measure_en=t.measure_en,
                    outlook=target_outlook(conn, catalog, plan, t.id, code, as_of)))
        tally = task_tally(conn, catalog, code, as_of, next_start, next_end, kind.plans)
        sme = (programme(conn, catalog, as_of, code if scope == "commune" else None)
               if "sme_programme" in kind.sections else None)
        # The tally's states count evidence up to the cut-off only; the warnings' list of
        # overdue tasks would change with evidence received later.
        late = {(s.plan, s.task) for s in tally.states if s.state == "overdue"}
        for n, entry in catalog.plans.items():
            for task in entry.tasks:
                due = task.deadline.date
                if (n, task.id) in late and due is not None:
                    overdue.append(OverdueTask(plan=n, task=task.id, title=task.title or task.id,
                                               due=due, days=(as_of - due).days,
                                               lead=task.lead))
    if code is None:
        name_vi, name_en = "Thành phố Hà Nội", "Hanoi"
    else:
        u = catalog.units.units[code]
        name_vi, name_en = u.name, u.name_en
    return ReportData(
        kind=kind.id, period=report_label(period), period_kind=period.kind, start=period.start,
        end=period.end, as_of=as_of, next_start=next_start, next_end=next_end, scope=scope,
        unit=code, unit_name_vi=name_vi, unit_name_en=name_en, plans=list(kind.plans),
        targets=lines, tasks=tally, overdue=sorted(overdue, key=lambda o: (-o.days, o.task)),
        standings=_standings(rt, kind, period, as_of, scope, code),
        gaps=_gaps(rt, kind, period, code),
        rankings=(_rankings(rt, kind, period, as_of, code) if "rankings" in kind.sections
                  else []), sme=sme)
