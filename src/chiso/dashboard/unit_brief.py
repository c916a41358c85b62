"""What a unit's own officers open its page for: :func:`unit_brief`.

For one department, agency or commune:

- its rank and score in each scoring method that ranks its kind, for the opening month
  (the last complete month while this one is young), with the change since the month before
  and the criteria that moved it;
- its targets flagged at risk or behind, each with the outlook's sentence for the unit;
- its overdue tasks (those it leads or coordinates);
- whether its own feeds were complete and on time over the same month (the data
  accountability of ``chiso.intake.quality``), for the feeds its kind of unit owes.

The answer is a frozen Pydantic model, read by the unit's page and ``GET
/api/v1/units/{code}/brief``.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import Field
from sqlalchemy import Connection

from chiso.context import Answer, Runtime
from chiso.dashboard.attention import Text
from chiso.intake import quality
from chiso.measurement.periods import opening_month, parse_period
from chiso.outlook import answers as outlook
from chiso.outlook.status import Status
from chiso.scoring import answers as scoring
from chiso.store import catalog_reads as reads
from chiso.store.catalog_sync import plan_key

WHY = 3  # criteria named as the reason a score moved


class UnitBriefError(LookupError):
    """No such unit."""


class Move(Answer):
    criterion: str
    name: str
    delta: float = Field(description="points gained (negative: lost)")


class Place(Answer):
    """The unit's place in one method's ranking of its kind."""

    method: str
    method_name: Text
    period: str
    rank: int
    of: int
    points: float
    rank_change: int | None = Field(default=None, description="places gained since the "
                                    "month before (none without that month's stored scores)")
    points_change: float | None = None
    why: list[Move] = Field(default_factory=list)
    link: str


class Risk(Answer):
    plan: str
    target: str
    status: str = Field(description="at_risk or behind")
    status_text: Text
    sentence: Text | None = None
    link: str


class Overdue(Answer):
    plan: str
    task: str
    title: str | None
    due: date
    days: int
    link: str


class FeedDuty(Answer):
    """One feed the unit owes, over the month: records sent, the share of the periods owed
    that it covered, the share of records that arrived within the contract's hours."""

    feed: str
    title: Text
    period: str
    records: int
    completeness: float | None
    on_time_share: float | None
    complete: bool
    on_time: bool
    link: str


class UnitBrief(Answer):
    unit: str
    name: str
    kind: str
    today: date
    month: str
    places: list[Place]
    risks: list[Risk]
    overdue: list[Overdue]
    feeds: list[FeedDuty]


ON_TIME_ENOUGH = 0.95  # a feed is "on time" when this share of its records arrived in time


def _places(rt: Runtime, unit: str, kind: str, month: str, today: date) -> list[Place]:
    methods = rt.catalog.methods
    period = parse_period(month, today)
    out = []
    for code in sorted(methods.versions if methods else []):
        try:
            version = methods.in_force(code, min(period.end, today)) if methods else None
        except KeyError:
            continue
        if version is None or kind not in version.kinds:
            continue
        try:
            ranking = scoring.ranking(rt, code, kind, period, today)
        except scoring.ScoringError:
            continue
        row = next((r for r in ranking.units if r.unit == unit), None)
        if row is None:
            continue
        out.append(Place(
            method=code, method_name=Text(vi=version.name_vi, en=version.name_en),
            period=period.label, rank=row.rank, of=len(ranking.units), points=row.points,
            rank_change=row.rank_change, points_change=row.points_change,
            why=[Move(criterion=m.criterion, name=m.name, delta=m.delta)
                 for m in row.explanation[:WHY]],
            link=f"/units/{unit}/scores/{code}?period={period.label}"))
    return out


def _risks(conn: Connection, rt: Runtime, unit: str, today: date) -> list[Risk]:
    measurement = rt.catalog.measurement
    if measurement is None:
        return []
    out = []
    for t in reads.list_targets(conn, unit=unit, limit=10_000).items:
        number = t["plan_number"]
        pb = measurement.plans.get(number)
        binding = pb.bindings.get(t["id"]) if pb else None
        if binding is None or not binding.indicators:
            continue
        try:
            o = outlook.target_outlook(conn, rt.catalog, number, t["id"], unit, today)
        except outlook.OutlookError:
            continue
        if not o.flagged:
            continue
        status = "behind" if o.status == Status.behind.value else "at_risk"
        out.append(Risk(plan=number, target=t["id"], status=status,
                        status_text=Text(vi=o.status or "", en=o.status_en or ""),
                        sentence=Text(vi=o.sentence.vi, en=o.sentence.en) if o.sentence
                        else None,
                        link=f"/plans/{t['plan_key']}/targets/{t['id']}"))
    out.sort(key=lambda r: (r.status != "behind", r.plan, r.target))
    return out


def _overdue(conn: Connection, rt: Runtime, unit: str, today: date) -> list[Overdue]:
    warned = outlook.task_warnings(conn, rt.catalog, unit, today)
    return [Overdue(plan=w.plan, task=w.task, title=w.title, due=w.due, days=w.days,
                    link=f"/plans/{plan_key(w.plan)}/tasks/{w.task}")
            for w in sorted(warned.warnings, key=lambda w: -w.days) if w.kind == "overdue"]


def _feeds(rt: Runtime, unit: str, kind: str, month: str, today: date) -> list[FeedDuty]:
    period = parse_period(month, today)
    end = min(period.end, today - timedelta(days=1)) if period.end >= today else period.end
    owed = [c for c in rt.catalog.feeds.values()
            if kind in c.expect.unit_kinds and not c.publishes_values]
    if not owed or end < period.start:
        return []
    got = quality.report(rt.engine, owed, unit, "month",
                         period.start.isoformat(), end.isoformat())
    by_feed = {r["feed"]: r for r in got["rows"] if r["period"] == month}
    out = []
    for c in owed:
        r = by_feed.get(c.feed)
        completeness = r["completeness"] if r else 0.0
        on_time = r["on_time_share"] if r else None
        out.append(FeedDuty(
            feed=c.feed, title=Text(vi=c.title, en=c.title_en), period=month,
            records=r["records"] if r else 0, completeness=completeness, on_time_share=on_time,
            complete=completeness is not None and completeness >= 1.0,
            on_time=on_time is not None and on_time >= ON_TIME_ENOUGH,
            link=f"/intake/data-quality?unit={unit}&feed={c.feed}"))
    return out


def unit_brief(rt: Runtime, conn: Connection, unit: str, today: date, feeds: bool = True
               ) -> UnitBrief:
    """The unit's first screen; :class:`UnitBriefError` for an unknown unit. With
    ``feeds=False`` the feeds part is left empty (data accountability is for officials)."""
    u = rt.catalog.units.units.get(unit)
    if u is None:
        raise UnitBriefError(f"no unit {unit!r}")
    month = opening_month(today)
    kind = u.kind.value
    return UnitBrief(unit=unit, name=u.name, kind=kind, today=today, month=month,
                     places=_places(rt, unit, kind, month, today),
                     risks=_risks(conn, rt, unit, today),
                     overdue=_overdue(conn, rt, unit, today),
                     feeds=_feeds(rt, unit, kind, month, today) if feeds else [])
