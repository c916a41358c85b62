"""Reading the catalog back from the database, with the filters the API and pages offer.

The API and the pages both call these functions, so a page never shows what the API cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, exists, func, select

from chiso.store import tables as t
from chiso.text import fold

TaskStatus = Literal["past_due", "due_soon", "upcoming", "recurring", "per_schedule", "undated"]
TASK_STATUSES: tuple[TaskStatus, ...] = (
    "past_due", "due_soon", "upcoming", "recurring", "per_schedule", "undated",
)
DUE_SOON_DAYS = 30


def task_status(deadline: date | None, kind: str, today: date) -> TaskStatus:
    """Where a task stands against its deadline (done, due soon, past due)."""
    if kind == "recurring":
        return "recurring"
    if kind == "per_schedule":
        return "per_schedule"
    if deadline is None:
        return "undated"
    if deadline < today:
        return "past_due"
    if deadline <= today + timedelta(days=DUE_SOON_DAYS):
        return "due_soon"
    return "upcoming"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int


def plan_key_of(conn: Connection, plan: str) -> str | None:
    """The key of a plan given by key ('131-KH-UBND') or by number ('131/KH-UBND')."""
    return conn.execute(
        select(t.plans.c.key).where((t.plans.c.key == plan) | (t.plans.c.number == plan))
    ).scalar_one_or_none()


def unit_exists(conn: Connection, code: str) -> bool:
    return conn.execute(select(t.units.c.code).where(t.units.c.code == code)).first() is not None


def list_plans(conn: Connection) -> list[dict[str, Any]]:
    target_counts = (select(t.targets.c.plan_key, func.count().label("n"))
                     .group_by(t.targets.c.plan_key).subquery())
    task_counts = (select(t.tasks.c.plan_key, func.count().label("n"))
                   .group_by(t.tasks.c.plan_key).subquery())
    rows = conn.execute(
        select(t.plans, func.coalesce(target_counts.c.n, 0).label("targets"),
               func.coalesce(task_counts.c.n, 0).label("tasks"))
        .outerjoin(target_counts, target_counts.c.plan_key == t.plans.c.key)
        .outerjoin(task_counts, task_counts.c.plan_key == t.plans.c.key)
        .order_by(t.plans.c.issued.desc().nulls_last(), t.plans.c.key)
    ).mappings()
    return [dict(r) for r in rows]


def get_plan(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.plans).where(t.plans.c.key == key)).mappings().first()
    if row is None:
        return None
    plan = dict(row)
    plan["groups"] = [dict(g) for g in conn.execute(
        select(t.plan_groups).where(t.plan_groups.c.plan_key == key).order_by(t.plan_groups.c.ord)
    ).mappings()]
    return plan


def _owned_by(kind: str, key_col: Any, id_col: Any, unit: str, role: str | None) -> Any:
    cond = [t.assignments.c.item_kind == kind, t.assignments.c.plan_key == key_col,
            t.assignments.c.item_id == id_col, t.assignments.c.unit_code == unit]
    if role:
        cond.append(t.assignments.c.role == role)
    return exists().where(and_(*cond))


def _with_units(conn: Connection, kind: str, items: list[dict[str, Any]]) -> None:
    """Attach the named units per role (codes and names, not the expanded members)."""
    if not items:
        return
    keys = {(i["plan_key"], i["id"]) for i in items}
    rows = conn.execute(
        select(t.assignments.c.plan_key, t.assignments.c.item_id, t.assignments.c.role,
               t.assignments.c.named, t.units.c.name)
        .join(t.units, t.units.c.code == t.assignments.c.named)
        .where(t.assignments.c.item_kind == kind,
               t.assignments.c.plan_key.in_({k for k, _ in keys}),
               t.assignments.c.unit_code == t.assignments.c.named)
    ).all()
    by_item: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for plan_key, item_id, role, named, name in rows:
        if (plan_key, item_id) in keys:
            by_item.setdefault((plan_key, item_id), {}).setdefault(role, {})[named] = name
    for item in items:
        roles = by_item.get((item["plan_key"], item["id"]), {})
        item["units"] = {role: [{"code": c, "name": n} for c, n in named.items()]
                         for role, named in roles.items()}


def _with_plan_numbers(conn: Connection, items: list[dict[str, Any]]) -> None:
    """People read '131/KH-UBND', not the URL key '131-KH-UBND'."""
    numbers: dict[str, str] = dict(conn.execute(select(t.plans.c.key, t.plans.c.number)).all())
    for item in items:
        item["plan_number"] = numbers.get(item["plan_key"], item["plan_key"])


def list_targets(conn: Connection, *, plan: str | None = None, unit: str | None = None,
                 role: str | None = None, group: str | None = None,
                 limit: int = 100, offset: int = 0) -> Page:
    query = select(t.targets)
    if plan:
        query = query.where(t.targets.c.plan_key == plan)
    if group:
        query = query.where(t.targets.c.grp == group)
    if unit:
        query = query.where(_owned_by("target", t.targets.c.plan_key, t.targets.c.id, unit, role))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(t.targets.c.plan_key, t.targets.c.ord)
                        .limit(limit).offset(offset)).mappings()
    items = [dict(r) for r in rows]
    _with_units(conn, "target", items)
    _with_plan_numbers(conn, items)
    return Page(items, total)


def get_target(conn: Connection, plan: str, target_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.targets).where(
        t.targets.c.plan_key == plan, t.targets.c.id == target_id)).mappings().first()
    if row is None:
        return None
    items = [dict(row)]
    _with_units(conn, "target", items)
    _with_plan_numbers(conn, items)
    return items[0]


def list_tasks(conn: Connection, *, today: date, plan: str | None = None,
               unit: str | None = None, role: str | None = None, group: str | None = None,
               section: str | None = None, status: TaskStatus | None = None,
               limit: int = 100, offset: int = 0) -> Page:
    query = select(t.tasks)
    if plan:
        query = query.where(t.tasks.c.plan_key == plan)
    if group:
        query = query.where(t.tasks.c.grp == group)
    if section:
        query = query.where(t.tasks.c.section == section)
    if unit:
        query = query.where(_owned_by("task", t.tasks.c.plan_key, t.tasks.c.id, unit, role))
    if status:
        query = query.where(_status_clause(status, today))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(t.tasks.c.plan_key, t.tasks.c.ord)
                        .limit(limit).offset(offset)).mappings()
    items = []
    for r in rows:
        item = dict(r)
        item["status"] = task_status(item["deadline"], item["deadline_kind"], today)
        items.append(item)
    _with_units(conn, "task", items)
    _with_plan_numbers(conn, items)
    return Page(items, total)


def _status_clause(status: TaskStatus, today: date) -> Any:
    c = t.tasks.c
    dated = c.deadline_kind.in_(("date", "starts"))
    soon = today + timedelta(days=DUE_SOON_DAYS)
    match status:
        case "recurring" | "per_schedule":
            return c.deadline_kind == status
        case "undated":
            return and_(c.deadline.is_(None), c.deadline_kind.not_in(("recurring", "per_schedule")))
        case "past_due":
            return and_(dated, c.deadline < today)
        case "due_soon":
            return and_(dated, c.deadline >= today, c.deadline <= soon)
        case "upcoming":
            return and_(dated, c.deadline > soon)


def get_task(conn: Connection, plan: str, task_id: str, today: date) -> dict[str, Any] | None:
    row = conn.execute(select(t.tasks).where(
        t.tasks.c.plan_key == plan, t.tasks.c.id == task_id)).mappings().first()
    if row is None:
        return None
    item = dict(row)
    item["status"] = task_status(item["deadline"], item["deadline_kind"], today)
    _with_units(conn, "task", [item])
    _with_plan_numbers(conn, [item])
    return item


def list_units(conn: Connection, *, kind: str | None = None) -> list[dict[str, Any]]:
    """Units by kind, then in official order (communes) or Vietnamese alphabetical order."""
    query = select(t.units)
    if kind:
        query = query.where(t.units.c.kind == kind)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    # Folding makes "Tổ" sort with "To", before "Trung": SQL collations differ per backend.
    return sorted(rows, key=lambda u: (u["kind"], u["ord"] or 0, fold(u["name"])))


def get_unit(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.units).where(t.units.c.code == code)).mappings().first()
    if row is None:
        return None
    unit = dict(row)
    unit["groups"] = [
        {"code": g, "name": n} for g, n in conn.execute(
            select(t.group_members.c.group_code, t.units.c.name)
            .join(t.units, t.units.c.code == t.group_members.c.group_code)
            .where(t.group_members.c.unit_code == code)
            .order_by(t.units.c.name))
    ]
    a = t.assignments.c
    unit["owns"] = {
        kind: conn.execute(
            select(func.count(func.distinct(a.plan_key + ":" + a.item_id)))
            .where(a.unit_code == code, a.item_kind == kind)
        ).scalar_one()
        for kind in ("target", "task")
    }
    return unit
