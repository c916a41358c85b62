"""Task evidence as the rooms read it back (the outlook's warnings and tally, the scores'
task criteria): each piece, each task's lead units, and when a task is complete for whom.

A piece marked ``completes`` on a task itself (not one of its milestones) completes the part
of the unit that attached it; a piece with no unit (the city's operator) completes it for
every unit. A task that several units lead is complete for the city when each of them has
completed its part; one lead unit's evidence never completes its co-leads' part.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select

from chiso.store.tables import assignments, task_evidence


@dataclass(frozen=True)
class Evidence:
    task: str  # task id within its plan
    at: date
    milestone: int | None = None  # index into Task.milestones; None: the task itself
    completes: bool = False  # the task (or milestone) is finished
    unit: str | None = None  # the unit that attached it; None: the city's operator


def completed_on(evidence: Iterable[Evidence], leads: Collection[str],
                 view: Collection[str] | None = None) -> date | None:
    """The day the task was complete as ``view`` (units; None: the city) sees it, or None.

    A piece marked ``completes`` on the task itself counts for the unit that attached it; one
    with no unit (the city's operator) for every unit. Of the lead units, those in the view
    (all of them for the city, or for a view that leads none of the task) must each have
    completed their part: the task is complete on the last of their days. A task no unit
    leads is complete on its first completing piece."""
    done = [e for e in evidence if e.completes and e.milestone is None]
    city = min((e.at for e in done if e.unit is None), default=None)
    need = set(leads) if view is None else (set(leads) & set(view)) or set(leads)
    if not need:
        return min((e.at for e in done), default=None)
    first: dict[str, date] = {}
    for e in done:
        if e.unit in need:
            first[e.unit] = min(first.get(e.unit, e.at), e.at)
    own = max(first.values()) if len(first) == len(need) else None
    return min((d for d in (city, own) if d is not None), default=None)


def seen_by(evidence: Iterable[Evidence], view: Collection[str] | None) -> list[Evidence]:
    """The pieces a view counts as its own (all for the city; a unit's and the city's)."""
    return [e for e in evidence if view is None or e.unit is None or e.unit in view]


def stored(conn: Connection, plan_key: str | None = None) -> dict[str, list[Evidence]]:
    """Evidence as the warning engine reads it, per plan key."""
    q = select(task_evidence.c.plan_key, task_evidence.c.task_id, task_evidence.c.milestone,
               task_evidence.c.completes, task_evidence.c.uploaded_at, task_evidence.c.unit)
    if plan_key is not None:
        q = q.where(task_evidence.c.plan_key == plan_key)
    out: dict[str, list[Evidence]] = {}
    for key, task, ms, completes, at, unit in conn.execute(q):
        out.setdefault(key, []).append(Evidence(task, at.date(), ms, bool(completes), unit))
    return out


def leads_of_tasks(conn: Connection) -> dict[tuple[str, str], set[str]]:
    """Every task's lead units, keyed (plan key, task id)."""
    out: dict[tuple[str, str], set[str]] = {}
    for key, task, unit in conn.execute(select(
            assignments.c.plan_key, assignments.c.item_id, assignments.c.unit_code).where(
            assignments.c.item_kind == "task", assignments.c.role == "lead")):
        out.setdefault((key, task), set()).add(unit)
    return out
