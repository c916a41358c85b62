"""Writing the catalog into the database.

The catalog files are the source of truth. When their digest differs from the last one
loaded, every catalog row is rewritten in one transaction (the catalog is small: a few
hundred items), so readers see either the old catalog or the new one, never a mixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from chiso.catalog.loader import Catalog, PlanEntry
from chiso.catalog.models import Target, Task
from chiso.store import tables as t


def plan_key(number: str) -> str:
    """A URL-safe key for a plan number: '131/KH-UBND' -> '131-KH-UBND'."""
    return number.replace("/", "-").replace(" ", "")


def _assignment_rows(catalog: Catalog, key: str, kind: str, item: Target | Task,
                     roles: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    for role in roles:
        for name in getattr(item, role):
            named = catalog.units.resolve(name)
            if named is None:
                continue  # `chiso catalog check` reports it; loading must not fail on it
            # The named code itself, then its members: a group with no members ("Đơn vị
            # liên quan") still shows as named, and a unit's filter finds it through the group.
            for unit in dict.fromkeys([named, *catalog.units.expand(named)]):
                if (role, unit) in seen:
                    continue
                seen.add((role, unit))
                yield {"plan_key": key, "item_kind": kind, "item_id": item.id, "role": role,
                       "named": named, "unit_code": unit}


def _plan_rows(catalog: Catalog, entry: PlanEntry, conn: Connection) -> None:
    plan = entry.plan
    key = plan_key(plan.number)
    conn.execute(insert(t.plans), [{
        "key": key, "number": plan.number, "kind": plan.kind, "title": plan.title,
        "title_en": plan.title_en, "issued": plan.issued,
        "data": plan.model_dump(mode="json", exclude={"groups"}),
    }])
    if entry.groups:
        conn.execute(insert(t.plan_groups), [
            {"plan_key": key, "code": g.code, "title": g.title, "parent": g.parent,
             "kind": g.kind, "ord": i}
            for i, g in enumerate(entry.groups)
        ])
    if entry.targets:
        conn.execute(insert(t.targets), [
            {"plan_key": key, "id": x.id, "grp": x.group, "row": x.row, "ord": i,
             "text": x.text, "measure_en": x.measure_en, "direction": x.direction.value,
             "threshold": x.threshold, "threshold_high": x.threshold_high,
             "unit_of_measure": x.unit_of_measure, "deadline": x.deadline,
             "data": x.model_dump(mode="json")}
            for i, x in enumerate(entry.targets)
        ])
    if entry.tasks:
        conn.execute(insert(t.tasks), [
            {"plan_key": key, "id": x.id, "section": x.section, "grp": x.group, "row": x.row,
             "ord": i, "title": x.title, "deadline": x.deadline.date,
             "deadline_kind": x.deadline.kind, "data": x.model_dump(mode="json")}
            for i, x in enumerate(entry.tasks)
        ])
    rows = [
        *(r for x in entry.targets for r in _assignment_rows(
            catalog, key, "target", x, ("tracking", "implementing", "coordinating"))),
        *(r for x in entry.tasks for r in _assignment_rows(
            catalog, key, "task", x, ("lead", "coordinating"))),
    ]
    if rows:
        conn.execute(insert(t.assignments), rows)


def sync_catalog(engine: Engine, catalog: Catalog, *, force: bool = False) -> bool:
    """Write the catalog into the database if its digest is new. Returns True if it wrote."""
    with engine.begin() as conn:
        known = conn.execute(
            select(t.catalog_loads.c.digest).where(t.catalog_loads.c.digest == catalog.digest)
        ).first()
        if known and not force:
            return False
        for table in (t.assignments, t.tasks, t.targets, t.plan_groups, t.plans,
                      t.group_members, t.units):
            conn.execute(delete(table))
        registry = catalog.units
        conn.execute(insert(t.units), [
            {"code": u.code, "name": u.name, "name_en": u.name_en, "kind": u.kind.value,
             "parent": u.parent, "commune_type": u.commune_type, "ord": u.order,
             "scored": u.scored, "is_group": False}
            for u in registry.units.values()
        ] + [
            {"code": g.code, "name": g.name, "name_en": g.name_en, "kind": "group",
             "parent": None, "commune_type": None, "ord": None, "scored": False,
             "is_group": True}
            for g in registry.groups.values()
        ])
        members = [{"group_code": g, "unit_code": u}
                   for g in registry.groups for u in registry.expand(g)]
        if members:
            conn.execute(insert(t.group_members), members)
        for entry in catalog.plans.values():
            _plan_rows(catalog, entry, conn)
        if catalog.calendar is not None:
            conn.execute(delete(t.workdays))
            conn.execute(insert(t.workdays), [
                {"day": d, "n_before": before, "working": working}
                for d, before, working in catalog.calendar.rows()])
        if known:
            conn.execute(delete(t.catalog_loads).where(t.catalog_loads.c.digest == catalog.digest))
        conn.execute(insert(t.catalog_loads), [{
            "digest": catalog.digest, "loaded_at": datetime.now(UTC), "stats": catalog.stats(),
        }])
    return True
