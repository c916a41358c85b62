"""The outlook room's typed answers: a target's outlook at a unit, and the task warnings.

The API, the pages, the reports and the exports read outlooks and warnings through
:func:`target_outlook` and :func:`task_warnings`. Errors are :class:`OutlookError` (an unknown
plan, target or unit), never HTTP errors.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from chiso.catalog.loader import Catalog
from chiso.context import Answer
from chiso.outlook import live
from chiso.outlook.live import OutlookError

__all__ = ["Outlook", "OutlookError", "TaskWarning", "TaskWarnings", "target_outlook",
           "task_warnings"]


class Bilingual(Answer):
    vi: str
    en: str


class MonthPoint(Answer):
    month: str
    at: date
    value: float
    to_date: float | None = Field(default=None, description="for a target judged on its "
                                  "window's share: that share from the window's start to this "
                                  "month (what the forecast continues)")


class Latest(Answer):
    at: date
    value: float


class Forecast(Answer):
    """The value expected at the deadline (none when the series is too short to say): the
    deadline month's value, or with ``pooled`` the share of the whole window's records (a
    ratio judged on its year to date)."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    se: float | None = None
    interval: str | None = Field(default=None, description="'80%' when it has an interval")
    method: str | None = None
    observations: int | None = None
    horizon_months: int | None = None
    pooled: bool = Field(default=False, description="the forecast is of the window's share "
                         "(its records from the start to the deadline), the value the target "
                         "is judged on, not of the deadline's month")


class Outlook(Answer):
    """A target at a unit (or the city): the forecast at its deadline with its interval, the
    status, the progress measure and the sentence a person can act on. A target that no
    indicator measures yet carries ``awaiting_data`` (the reason) and no status."""

    plan: str
    target: str
    unit: str | None
    unit_name: str
    direction: str
    threshold: float
    unit_of_measure: str
    deadline: date
    today: date
    awaiting_data: str | None = None
    note: str | None = Field(default=None, description="how the target is bound to its data "
                             "and the binding's caveats (the catalog's binding note), shown "
                             "wherever the value shows")
    note_vi: str | None = Field(default=None, description="the binding note in Vietnamese")
    status: str | None = None
    status_en: str | None = None
    flagged: bool | None = None
    probability: float | None = None
    indicator: str | None = None
    level: str | None = None
    series: list[MonthPoint] = Field(default_factory=list)
    latest: Latest | None = None
    forecast: Forecast | None = None
    progress: dict[str, Any] | None = None
    sentence: Bilingual | None = None


class TaskWarning(Answer):
    plan: str
    task: str
    title: str | None = Field(default=None, description="none where the plan's row names no task")
    kind: str = Field(description="overdue, due_soon_no_evidence or milestone_slipping")
    kind_vi: str
    due: date
    days: int = Field(description="days overdue (positive) or days left (due soon)")
    milestone: int | None = None
    milestone_text: str | None = None


class TaskWarnings(Answer):
    unit: str | None
    today: date
    days: int
    tasks: int = Field(description="tasks the unit leads or coordinates (all: every task)")
    counts: dict[str, int]
    evidence: dict[str, Any]
    warnings: list[TaskWarning]


def target_outlook(conn: Connection, catalog: Catalog, plan: str, target_id: str,
                   unit: str | None, today: date) -> Outlook:
    return Outlook.model_validate(
        live.target_outlook(conn, catalog, plan, target_id, unit, today))


def task_warnings(conn: Connection, catalog: Catalog, unit: str | None, today: date,
                  days: int = 30) -> TaskWarnings:
    """Overdue tasks, tasks due within ``days`` with no evidence, milestones slipping."""
    return TaskWarnings.model_validate(
        live.unit_task_warnings(conn, catalog, unit, today, days))
