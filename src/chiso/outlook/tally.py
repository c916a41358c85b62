"""The outlook room's task tally for a unit (or the city) on a day: how many dated tasks are
done (on time or late), overdue, still open, and which tasks and milestones fall due in a
coming span. The reports read it; a task is done when evidence marks it complete."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from chiso.catalog.loader import Catalog
from chiso.outlook import evidence as ev
from chiso.outlook.live import _unit_tasks, task_view, unit_names
from chiso.outlook.tasks import completed_on, seen_by
from chiso.store.catalog_sync import plan_key

__all__ = ["DueItem", "TaskTally", "task_tally"]


class DueItem(BaseModel):
    """A task, or one of its milestones, falling due."""

    model_config = ConfigDict(frozen=True)

    plan: str
    task: str
    title: str
    due: date
    milestone: str | None = Field(default=None, description="the milestone's words, if one")
    lead: list[str] = Field(default_factory=list, description="lead agencies, as written")


class TaskState(BaseModel):
    """One task's state as of the tally's day."""

    model_config = ConfigDict(frozen=True)

    plan: str
    task: str
    state: str = Field(description="done_on_time, done_late, overdue, open or undated")
    evidence: int = Field(description="pieces of evidence attached up to the day")


class TaskTally(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str | None
    today: date
    tasks: int = Field(description="tasks the unit leads or coordinates (all: every task)")
    dated: int = Field(description="tasks with a date to meet")
    done: int
    done_on_time: int
    done_late: int
    overdue: int = Field(description="dated, past the date, not done")
    open: int = Field(description="dated, not yet due, not done")
    undated: int = Field(description="recurring, per-schedule or starting tasks")
    due_next: list[DueItem] = Field(description="tasks and milestones due in the span asked")
    states: list[TaskState] = Field(description="every task counted, in catalog order")


def task_tally(conn: Connection, catalog: Catalog, unit: str | None, today: date,
               next_start: date, next_end: date, plans: Collection[str] | None = None
               ) -> TaskTally:
    """Count the tasks of ``unit`` (None: the city) in ``plans`` (None: every plan) as of
    ``today``; list what falls due from ``next_start`` to ``next_end`` (both included).
    Evidence after ``today`` is not counted, so a tally as of a past day stays what it was."""
    if unit is not None:
        unit_names(catalog, unit)  # raises OutlookError for an unknown unit
    pairs = [(n, t) for n, t in _unit_tasks(conn, catalog, unit) if plans is None or n in plans]
    stored = ev.stored(conn)
    leads = ev.leads_of_tasks(conn)
    view = task_view(catalog, unit)
    counts = {"dated": 0, "done": 0, "on_time": 0, "late": 0, "overdue": 0, "open": 0}
    due_next: list[DueItem] = []
    states: list[TaskState] = []
    for number, task in pairs:
        key = plan_key(number)
        upto = [e for e in stored.get(key, []) if e.task == task.id and e.at <= today]
        mine = seen_by(upto, view)
        complete = completed_on(upto, leads.get((key, task.id), set()), view)
        finished = [complete] if complete is not None else []
        due = task.deadline.date if task.deadline.kind == "date" else None
        title = task.title or task.id
        state = "undated"
        if due is not None:
            counts["dated"] += 1
            if finished:
                counts["done"] += 1
                state = "on_time" if min(finished) <= due else "late"
            else:
                state = "overdue" if today > due else "open"
            counts[state] += 1
            if next_start <= due <= next_end and not finished:
                due_next.append(DueItem(plan=number, task=task.id, title=title, due=due,
                                        lead=task.lead))
        states.append(TaskState(plan=number, task=task.id, evidence=len(mine),
                                state={"on_time": "done_on_time", "late": "done_late"}
                                .get(state, state)))
        if finished:
            continue
        for i, ms in enumerate(task.milestones):
            d = ms.due.date
            if ms.due.kind == "date" and d is not None and next_start <= d <= next_end and \
                    not any(e.milestone == i for e in mine):
                due_next.append(DueItem(plan=number, task=task.id, title=title, due=d,
                                        milestone=ms.text, lead=task.lead))
    due_next.sort(key=lambda x: (x.due, x.plan, x.task))
    return TaskTally(unit=unit, today=today, tasks=len(pairs), dated=counts["dated"],
                     done=counts["done"], done_on_time=counts["on_time"],
                     done_late=counts["late"], overdue=counts["overdue"], open=counts["open"],
                     undated=len(pairs) - counts["dated"], due_next=due_next,
                     states=states)
