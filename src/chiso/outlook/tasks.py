"""Warnings on tasks: overdue, due soon with no evidence, milestones slipping.

Evidence is an input (a unit officer attaches a file or link to a task or one of its
milestones; storing it is the store's job). A task is done when evidence marked ``completes``
is attached to the task itself, by each unit that leads it (:func:`completed_on`): one lead
unit's evidence completes its own part, never its co-leads'.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from chiso.catalog.models import Task
from chiso.store.evidence_reads import Evidence, completed_on, seen_by

__all__ = ["Evidence", "TaskWarning", "TaskWarningKind", "completed_on", "seen_by",
           "task_warnings"]


class TaskWarningKind(StrEnum):
    overdue = "overdue"  # quá hạn: deadline passed, not done
    due_soon = "due_soon_no_evidence"  # sắp đến hạn, chưa có minh chứng
    milestone_slipping = "milestone_slipping"  # mốc đã qua mà chưa có minh chứng


LABELS_VI = {
    TaskWarningKind.overdue: "quá hạn",
    TaskWarningKind.due_soon: "sắp đến hạn, chưa có minh chứng",
    TaskWarningKind.milestone_slipping: "mốc trung gian chậm",
}


@dataclass(frozen=True)
class TaskWarning:
    task: str
    kind: TaskWarningKind
    due: date
    days: int  # days overdue (positive) or days left (due_soon)
    milestone: int | None = None


def task_warnings(tasks: Iterable[Task], evidence: Iterable[Evidence], today: date,
                  due_within_days: int = 30, *, leads: Mapping[str, Collection[str]] | None = None,
                  view: Collection[str] | None = None) -> list[TaskWarning]:
    """Warnings for dated tasks as ``view`` (units; None: the city) sees them, ``leads`` the
    lead units of each task id (a task is done when each lead unit in view has completed it,
    :func:`completed_on`); recurring and per-schedule tasks have no deadline to miss."""
    by_task: dict[str, list[Evidence]] = {}
    for e in evidence:
        by_task.setdefault(e.task, []).append(e)
    out: list[TaskWarning] = []
    for task in tasks:
        everything = by_task.get(task.id, [])
        done = completed_on(everything, (leads or {}).get(task.id, ()), view) is not None
        ev = seen_by(everything, view)
        due = task.deadline.date
        if due is not None and task.deadline.kind == "date" and not done:
            if today > due:
                out.append(TaskWarning(task.id, TaskWarningKind.overdue, due, (today - due).days))
            elif (due - today).days <= due_within_days and not any(
                e.milestone is None for e in ev
            ):
                out.append(TaskWarning(task.id, TaskWarningKind.due_soon, due,
                                       (due - today).days))
        if done:
            continue
        for i, ms in enumerate(task.milestones):
            ms_due = ms.due.date
            if ms_due is None or ms.due.kind != "date" or today <= ms_due:
                continue
            if not any(e.milestone == i for e in ev):
                out.append(TaskWarning(task.id, TaskWarningKind.milestone_slipping, ms_due,
                                       (today - ms_due).days, i))
    return out
