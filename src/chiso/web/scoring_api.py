"""Scoring and outlook API (issue 6, docs/scoring.md, docs/outlook.md): a target's outlook at a
unit or the city, task warnings, score trees and rankings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from chiso.outlook import live as outlook
from chiso.runtime import Runtime
from chiso.store import catalog_reads as reads
from chiso.web.api import Conn, Today, runtime

router = APIRouter(prefix="/api/v1", tags=["scoring"])

Rt = Annotated[Runtime, Depends(runtime)]


@router.get("/plans/{key}/targets/{target_id}/outlook")
def target_outlook(key: str, target_id: str, rt: Rt, conn: Conn, today: Today,
                   unit: Annotated[str | None, Query(
                       description="A unit or group code; default: the city")] = None,
                   ) -> dict[str, Any]:
    """The forecast at the deadline (80% interval), status, Open SDG progress measure and the
    sentence a person can act on (Vietnamese and English), from the monthly values so far."""
    target = reads.get_target(conn, key, target_id)
    if target is None:
        raise HTTPException(404, f"no target {target_id} in plan {key}")
    try:
        return outlook.target_outlook(conn, rt.catalog, target["plan_number"], target_id,
                                      unit, today)
    except outlook.OutlookError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/tasks/warnings")
def task_warnings(rt: Rt, conn: Conn, today: Today,
                  unit: Annotated[str | None, Query(
                      description="Tasks this unit leads or coordinates; default: all")] = None,
                  days: Annotated[int, Query(ge=0, le=366,
                                             description="Due within this many days")] = 30,
                  ) -> dict[str, Any]:
    """Overdue tasks, tasks due within ``days`` with no evidence, milestones slipping."""
    try:
        return outlook.unit_task_warnings(conn, rt.catalog, unit, today, days)
    except outlook.OutlookError as exc:
        raise HTTPException(404, str(exc)) from exc
