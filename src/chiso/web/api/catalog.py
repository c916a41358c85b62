"""The JSON API under ``/api/v1``: plans, targets, tasks and units, with filters."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from chiso.store import catalog_reads as reads
from chiso.web.deps import Offset, ReadConn, Rt, Today

router = APIRouter(prefix="/api/v1")


# -- response shapes ----------------------------------------------------------------------
class UnitRef(BaseModel):
    code: str
    name: str


class PlanSummary(BaseModel):
    key: str = Field(description="URL-safe key: '131-KH-UBND' for '131/KH-UBND'")
    number: str
    kind: str
    title: str
    title_en: str
    issued: date | None
    targets: int
    tasks: int


class PlanGroup(BaseModel):
    code: str
    title: str
    parent: str | None
    kind: str


class PlanDetail(PlanSummary):
    groups: list[PlanGroup]
    data: dict[str, Any] = Field(description="The plan as the catalog holds it")


class TargetOut(BaseModel):
    plan_key: str
    plan_number: str
    id: str
    group: str
    row: int | None
    text: str
    measure_en: str
    direction: str
    threshold: Decimal
    threshold_high: Decimal | None
    unit_of_measure: str
    deadline: date
    units: dict[str, list[UnitRef]] = Field(description="Named units per role")
    data: dict[str, Any]


class TaskOut(BaseModel):
    plan_key: str
    plan_number: str
    id: str
    section: str
    group: str
    row: int | None
    title: str | None
    deadline: date | None
    deadline_kind: str
    status: str = Field(
        description="past_due, due_soon, upcoming, recurring, per_schedule, undated"
    )
    units: dict[str, list[UnitRef]]
    data: dict[str, Any]


class TargetPage(BaseModel):
    total: int
    items: list[TargetOut]


class TaskPage(BaseModel):
    total: int
    items: list[TaskOut]


class UnitOut(BaseModel):
    code: str
    name: str
    name_en: str
    kind: str
    commune_type: str | None
    scored: bool
    is_group: bool


class UnitDetail(UnitOut):
    groups: list[UnitRef] = Field(description="Groups the unit is a member of")
    owns: dict[str, int] = Field(description="How many targets and tasks the unit has a role in")


class UnitMatch(BaseModel):
    code: str
    name: str
    kind: str
    score: int


def _normal(value: Decimal | None) -> Decimal | None:
    """98.000000 from a NUMERIC column reads as 98; 7.5 stays 7.5."""
    return None if value is None else value.normalize() + 0


def _target(row: dict[str, Any]) -> TargetOut:
    fields = {k: v for k, v in row.items() if k not in ("grp", "ord")}
    fields["threshold"] = _normal(row["threshold"])
    fields["threshold_high"] = _normal(row["threshold_high"])
    return TargetOut(group=row["grp"], **fields)


def _task(row: dict[str, Any]) -> TaskOut:
    return TaskOut(group=row["grp"], **{k: v for k, v in row.items() if k not in ("grp", "ord")})


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


def _plan_filter(conn: Connection, plan: str | None) -> str | None:
    """Accept a plan's key or its number; an unknown plan is an error, not an empty list."""
    if plan is None:
        return None
    key = reads.plan_key_of(conn, plan)
    if key is None:
        raise HTTPException(404, f"plan {plan!r} not found: use a key or number "
                                 "from /api/v1/plans")
    return key


def _unit_filter(conn: Connection, unit: str | None) -> str | None:
    if unit is not None and not reads.unit_exists(conn, unit):
        raise HTTPException(404, f"unit {unit!r} not found: use a code from /api/v1/units "
                                 "or /api/v1/units/search?q=")
    return unit


# -- routes -------------------------------------------------------------------------------
class Health(BaseModel):
    status: str = Field(description="ok")
    catalog: str = Field(description="the loaded catalog's digest")
    pid: int = Field(description="the answering server process")
    runs: list[str] = Field(description="the single-run work this process holds now")


@router.get("/health", tags=["meta"])
async def health(rt: Rt) -> Health:
    """The process answers: its catalog version, its process id and the single-run work it
    holds at the moment (docs/scaling.md)."""
    return Health(status="ok", catalog=rt.catalog.digest, pid=os.getpid(),
                  runs=sorted(rt.running))


@router.get("/plans", tags=["catalog"])
def plans(conn: ReadConn) -> list[PlanSummary]:
    return [PlanSummary(**p) for p in reads.list_plans(conn)]


@router.get("/plans/{key}", tags=["catalog"])
def plan(key: str, conn: ReadConn) -> PlanDetail:
    found = reads.get_plan(conn, key)
    if found is None:
        raise _not_found(f"plan {key}")
    counts = next(p for p in reads.list_plans(conn) if p["key"] == key)
    return PlanDetail(**{**found, "targets": counts["targets"], "tasks": counts["tasks"]})


Limit = Annotated[int, Query(ge=1, le=1000)]


UnitFilter = Annotated[str | None, Query(description="Unit code: items it has a role in")]
PlanFilter = Annotated[
    str | None, Query(description="Plan key ('131-KH-UBND') or number ('131/KH-UBND')")
]


@router.get("/targets", tags=["catalog"])
def targets(conn: ReadConn, plan: PlanFilter = None, unit: UnitFilter = None,
            role: Annotated[
                str | None, Query(description="tracking, implementing or coordinating")
            ] = None,
            group: str | None = None, limit: Limit = 100, offset: Offset = 0) -> TargetPage:
    page = reads.list_targets(conn, plan=_plan_filter(conn, plan), unit=_unit_filter(conn, unit),
                              role=role, group=group, limit=limit, offset=offset)
    return TargetPage(total=page.total, items=[_target(r) for r in page.items])


@router.get("/plans/{key}/targets/{target_id}", tags=["catalog"])
def target(key: str, target_id: str, conn: ReadConn) -> TargetOut:
    found = reads.get_target(conn, key, target_id)
    if found is None:
        raise _not_found(f"target {target_id} of plan {key}")
    return _target(found)


@router.get("/tasks", tags=["catalog"])
def tasks(conn: ReadConn, day: Today, plan: PlanFilter = None, unit: UnitFilter = None,
          role: Annotated[str | None, Query(description="lead or coordinating")] = None,
          group: str | None = None,
          section: Annotated[str | None, Query(description="body or appendix")] = None,
          status: reads.TaskStatus | None = None,
          limit: Limit = 100, offset: Offset = 0) -> TaskPage:
    page = reads.list_tasks(conn, today=day, plan=_plan_filter(conn, plan),
                            unit=_unit_filter(conn, unit), role=role, group=group,
                            section=section, status=status, limit=limit, offset=offset)
    return TaskPage(total=page.total, items=[_task(r) for r in page.items])


@router.get("/plans/{key}/tasks/{task_id}", tags=["catalog"])
def task(key: str, task_id: str, conn: ReadConn, day: Today) -> TaskOut:
    found = reads.get_task(conn, key, task_id, day)
    if found is None:
        raise _not_found(f"task {task_id} of plan {key}")
    return _task(found)


@router.get("/units", tags=["units"])
def units(conn: ReadConn, kind: str | None = None) -> list[UnitOut]:
    return [UnitOut(**u) for u in reads.list_units(conn, kind=kind)]


@router.get("/units/search", tags=["units"])
def units_search(rt: Rt,
                 q: Annotated[str, Query(min_length=1, description="'ha dong', 'khoa hoc'")],
                 limit: Annotated[int, Query(ge=1, le=50)] = 10) -> list[UnitMatch]:
    return [UnitMatch(code=m.code, name=m.name, kind=m.kind, score=m.score)
            for m in rt.catalog.units.find(q, limit=limit)]


@router.get("/units/{code}", tags=["units"])
def unit(code: str, conn: ReadConn) -> UnitDetail:
    found = reads.get_unit(conn, code)
    if found is None:
        raise _not_found(f"unit {code}")
    return UnitDetail(**found)
