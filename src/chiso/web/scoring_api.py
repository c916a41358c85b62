"""Scoring and outlook API (issue 6, docs/scoring.md, docs/outlook.md): a target's outlook at a
unit or the city, task warnings, score trees and rankings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from chiso.measurement.periods import PeriodError, parse_period
from chiso.outlook import live as outlook
from chiso.runtime import Runtime
from chiso.scoring import live as scoring
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


def _period(period: str, today: Any) -> str:
    label = period or f"{today.year}-YTD"
    try:
        parse_period(label, today)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    return label


@router.get("/scores/{method}/{unit}")
def unit_score(method: str, unit: str, rt: Rt, conn: Conn, today: Today,
               period: Annotated[str, Query(description="2026-03, 2026-Q1, 2026-YTD, …")] = "",
               ) -> dict[str, Any]:
    """A unit's whole score tree: points, formula, input value and missing markers for each
    criterion, with links down to the indicator's values and records. The stored score when
    ``chiso scores compute`` has run for the period (``stored``), else computed now."""
    label = _period(period, today)
    try:
        fresh = scoring.unit_score(conn, rt.catalog, method, unit, label, today)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    row = scoring.stored_score(conn, fresh["method"], unit, fresh["period"])
    if row is None:
        return {**fresh, "stored": False, "rank": None, "of": None, "computed_at": None}
    return {**fresh, "stored": True, "points": row["points"], "tree": row["tree"],
            "rank": row["rank"], "of": row["of"],
            "computed_at": row["computed_at"].isoformat(), "version": row["version"],
            "computed_now": {"points": fresh["points"]}}


@router.get("/rankings/{method}")
def rankings(method: str, rt: Rt, conn: Conn, today: Today,
             kind: Annotated[str, Query(description="department, agency or commune")]
             = "commune",
             period: Annotated[str, Query(description="2026-03, 2026-Q1, 2026-YTD, …")] = "",
             ) -> dict[str, Any]:
    """Rank, score, the change since the previous period and which criteria moved."""
    label = _period(period, today)
    try:
        return scoring.ranking(conn, rt.catalog, method, kind, label, today)
    except (KeyError, ValueError) as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
