"""Yearly milestones of a cumulative target (a plan that gives only its final figure, such as
plan 232's 2030 targets), and the outlook judged against this year's milestone.

A milestone is the value the running total should have reached by the end of a year. The
operator sets them (``target_milestones``); a year without a row takes the **linear
default**: the target's threshold times the share of the plan's years elapsed by the end of
that year (120.000 over 2026–2030: 24.000, 48.000, 72.000, 96.000, 120.000). The deadline's
year is the target itself and cannot be set. Every milestone says where it comes from
(``operator`` or ``linear_default``), so a reader never mistakes a default for a decision.

The current year's milestone is judged with the same engine as the deadline
(:func:`chiso.outlook.status.assess`), as if it were a target due at the end of this year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from chiso.catalog.indicators import Binding
from chiso.catalog.models import Target
from chiso.outlook.series import Point, TargetTerms
from chiso.outlook.status import Status, assess
from chiso.store.tables import target_milestones

LINEAR = "linear_default"
OPERATOR = "operator"


class MilestoneError(ValueError):
    """A milestone that cannot be set; the message names the year and what to do."""


@dataclass(frozen=True)
class Milestone:
    year: int
    value: float
    source: str  # operator | linear_default
    set_by: str | None = None
    set_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "value": self.value, "source": self.source,
                "set_by": self.set_by,
                "set_at": self.set_at.isoformat() if self.set_at else None}


def years(start: date, deadline: date) -> list[int]:
    return list(range(start.year, deadline.year + 1))


def linear(threshold: float, start: date, deadline: date) -> dict[int, float]:
    """The linear default: the threshold spread evenly over the plan's years."""
    span = years(start, deadline)
    return {y: threshold * (i + 1) / len(span) for i, y in enumerate(span)}


def milestones(conn: Connection, plan_key: str, target: Target,
               binding: Binding) -> list[Milestone]:
    """Every year's milestone from the window's year to the deadline's, operator's or default."""
    start = _start(binding)
    default = linear(float(target.threshold), start, target.deadline)
    rows = {r.year: r for r in conn.execute(select(target_milestones).where(
        target_milestones.c.plan_key == plan_key, target_milestones.c.target_id == target.id))}
    out = []
    for y, v in default.items():
        r = rows.get(y)
        if r is not None and y != target.deadline.year:
            out.append(Milestone(y, float(r.value), OPERATOR, r.set_by, r.set_at))
        else:
            out.append(Milestone(y, v, LINEAR))
    return out


def set_milestones(conn: Connection, plan_key: str, target: Target, binding: Binding,
                   values: Mapping[int, float | None], actor: str, now: datetime) -> None:
    """Set (a number) or reset to the linear default (None) the milestones of some years,
    inside the caller's transaction. Refuses a year outside the plan, the deadline's year,
    a negative value, and milestones that would go down from one year to the next."""
    if not binding.cumulative:
        raise MilestoneError(f"target {target.id} is not a running total: it has no yearly "
                             "milestones")
    span = years(_start(binding), target.deadline)
    for y, v in values.items():
        if y not in span:
            raise MilestoneError(f"year {y}: the plan runs {span[0]}–{span[-1]}")
        if y == target.deadline.year:
            raise MilestoneError(f"year {y} is the deadline: its milestone is the target "
                                 f"itself ({target.threshold})")
        if v is not None and v < 0:
            raise MilestoneError(f"year {y}: a milestone cannot be negative")
    current = {m.year: m.value for m in milestones(conn, plan_key, target, binding)}
    default = linear(float(target.threshold), _start(binding), target.deadline)
    after: dict[int, float] = {}
    for y in span:
        if y in values:
            v = values[y]
            after[y] = default[y] if v is None else float(v)
        else:
            after[y] = current[y]
    higher = target.direction.higher_is_better
    for prev, year in pairwise(span):
        a, b = after[prev], after[year]
        if (b < a) if higher else (b > a):
            raise MilestoneError(f"year {year}: {b:g} would undo {prev}'s {a:g} (a running "
                                 "total only moves one way)")
    for y, v in values.items():
        conn.execute(delete(target_milestones).where(
            target_milestones.c.plan_key == plan_key,
            target_milestones.c.target_id == target.id, target_milestones.c.year == y))
        if v is not None:
            conn.execute(insert(target_milestones).values(
                plan_key=plan_key, target_id=target.id, year=y, value=float(v),
                set_by=actor, set_at=now))


def judge(terms: TargetTerms, points: list[Point], today: date,
          plan_milestones: list[Milestone]) -> dict[str, Any] | None:
    """This year's milestone and its status (None when the deadline's year is this year or
    past: the deadline's own status says it all)."""
    current = next((m for m in plan_milestones if m.year == today.year), None)
    if current is None or today.year >= terms.deadline.year:
        return None
    due = date(today.year, 12, 31)
    mterms = TargetTerms(direction=terms.direction, threshold=current.value, deadline=due,
                         start=terms.start, unit_of_measure=terms.unit_of_measure,
                         lower=terms.lower, upper=terms.upper)
    a = assess(mterms, points, today)
    return {**current.as_dict(), "due": due.isoformat(), "status": a.status.value,
            "status_en": a.status.en, "flagged": a.status.flagged,
            "probability": a.probability,
            "forecast": a.forecast.value}


_SEVERITY = {Status.behind.value: 3, Status.at_risk.value: 2}


def worse(deadline_status: str, milestone_status: str) -> str:
    """The status to act on: the milestone's when it is a worse flag than the deadline's."""
    if _SEVERITY.get(milestone_status, 0) > _SEVERITY.get(deadline_status, 0):
        return milestone_status
    return deadline_status


def _start(binding: Binding) -> date:
    assert binding.window_start is not None  # a cumulative binding has one (catalog check)
    return date.fromisoformat(binding.window_start)
