"""Scoring and outlook API (docs/scoring.md, docs/outlook.md): a target's outlook at a
unit or the city, task warnings, score trees and rankings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from starlette.datastructures import UploadFile

from chiso.access.guard import principal
from chiso.measurement.periods import Period, PeriodError
from chiso.outlook import alerts as alerting
from chiso.outlook import answers as outlooks
from chiso.outlook import evidence as ev
from chiso.scoring import answers
from chiso.store import catalog_reads as reads
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import tasks
from chiso.text import read_json
from chiso.web.deps import Conn, Rt, Today

router = APIRouter(prefix="/api/v1", tags=["scoring"])


class Evidence(BaseModel):
    """A piece of evidence attached to a task (the file itself is not served here)."""

    model_config = ConfigDict(extra="allow")

    id: int
    plan_key: str
    task_id: str
    milestone: int | None = None
    kind: str
    filename: str | None = None
    url: str | None = None
    note: str | None = None
    sha256: str | None = None
    completes: bool
    unit: str | None = None
    uploaded_by: str
    uploaded_at: str | None = None


class EvidenceList(BaseModel):
    plan_key: str
    task: str
    evidence: list[Evidence]


class Alerts(BaseModel):
    """The alerts raised (newest first) with their deliveries."""

    unit: str | None
    alerts: list[alerting.Alert]



@router.get("/plans/{key}/targets/{target_id}/outlook", response_model=outlooks.Outlook)
def target_outlook(key: str, target_id: str, rt: Rt, conn: Conn, today: Today,
                   unit: Annotated[str | None, Query(
                       description="A unit or group code; default: the city")] = None,
                   ) -> outlooks.Outlook:
    """The forecast at the deadline (80% interval), status, Open SDG progress measure and the
    sentence a person can act on (Vietnamese and English), from the monthly values so far."""
    target = reads.get_target(conn, key, target_id)
    if target is None:
        raise HTTPException(404, f"no target {target_id} in plan {key}")
    try:
        return outlooks.target_outlook(conn, rt.catalog, target["plan_number"], target_id,
                                       unit, today)
    except outlooks.OutlookError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/tasks/warnings", response_model=outlooks.TaskWarnings)
def task_warnings(rt: Rt, conn: Conn, today: Today,
                  unit: Annotated[str | None, Query(
                      description="Tasks this unit leads or coordinates; default: all")] = None,
                  days: Annotated[int, Query(ge=0, le=366,
                                             description="Due within this many days")] = 30,
                  ) -> outlooks.TaskWarnings:
    """Overdue tasks, tasks due within ``days`` with no evidence, milestones slipping."""
    try:
        return outlooks.task_warnings(conn, rt.catalog, unit, today, days)
    except outlooks.OutlookError as exc:
        raise HTTPException(404, str(exc)) from exc


def _task_or_404(conn: Any, key: str, task_id: str) -> None:
    found = conn.execute(select(tasks.c.id).where(tasks.c.plan_key == key,
                                                  tasks.c.id == task_id)).first()
    if found is None:
        raise HTTPException(404, f"no task {task_id} in plan {key}")


@router.post("/plans/{key}/tasks/{task_id}/evidence", status_code=201, response_model=Evidence)
async def attach_evidence(key: str, task_id: str, request: Request, rt: Rt) -> dict[str, Any]:
    """Attach evidence to a task (or, with ``milestone``, one of its milestones): a file
    (multipart field ``file``) or a link (JSON ``{"url": …}``); optional ``note``,
    ``completes`` (the task or milestone is finished). Stored with SHA-256, size, uploader."""
    ctype = request.headers.get("content-type", "")
    fields: dict[str, Any]
    content: bytes | None = None
    filename = content_type = None
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_part_size=ev.MAX_BYTES)
        fields = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            content = await upload.read()
            filename, content_type = upload.filename, upload.content_type
    else:
        try:
            fields = dict(read_json(await request.body()))
        except (ValueError, TypeError) as exc:
            raise HTTPException(422, "send a multipart file or a JSON link") from exc
    try:
        milestone = int(fields["milestone"]) if fields.get("milestone") not in (None, "") \
            else None
    except (TypeError, ValueError) as exc:
        raise HTTPException(422, "milestone must be a number") from exc
    completes = str(fields.get("completes", "")).lower() in ("1", "true", "yes", "on")
    who = principal(request)
    with rt.engine.begin() as conn:
        _task_or_404(conn, key, task_id)
        entry = next((t for n, p in rt.catalog.plans.items() if plan_key(n) == key
                      for t in p.tasks if t.id == task_id), None)
        leads = ev.lead_units(conn, key, task_id)
        units = {g.unit for g in who.grants if g.unit} & leads
        try:
            return ev.attach(conn, key, task_id, uploaded_by=who.actor,
                             unit=min(units) if units else None, milestone=milestone,
                             milestones=len(entry.milestones) if entry else 0,
                             content=content, filename=filename, content_type=content_type,
                             url=fields.get("url") if content is None else None,
                             note=fields.get("note"), completes=completes)
        except ev.EvidenceError as exc:
            raise HTTPException(422, str(exc)) from exc


@router.get("/plans/{key}/tasks/{task_id}/evidence", response_model=EvidenceList)
def list_evidence(key: str, task_id: str, conn: Conn) -> dict[str, Any]:
    """The evidence attached to a task and its milestones (no file bytes)."""
    _task_or_404(conn, key, task_id)
    return {"plan_key": key, "task": task_id, "evidence": ev.listing(conn, key, task_id)}


@router.get("/alerts", response_model=Alerts)
def list_alerts(rt: Rt, conn: Conn, unit: Annotated[str | None, Query(
                    description="A unit code; unit officers: their unit")] = None,
                ) -> Alerts:
    """Alerts raised for a unit (or all), newest first, with every delivery attempt; 404
    for a code that names no unit."""
    if unit is not None and unit not in rt.catalog.units.units:
        raise HTTPException(404, f"unit: no unit {unit[:64]!r} (GET /api/v1/units lists them)")
    return Alerts(unit=unit, alerts=alerting.listing(conn, unit))


def _period(period: str, today: date) -> Period:
    try:
        return answers.period_of(period, today)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/scores/{method}/{unit}", response_model=answers.ScoreTree)
def unit_score(method: str, unit: str, rt: Rt, conn: Conn, today: Today,
               period: Annotated[str, Query(description="2026-03, 2026-Q1, 2026-YTD, …")] = "",
               ) -> answers.ScoreTree:
    """A unit's whole score tree: points, formula, input value and missing markers for each
    criterion, with links down to the indicator's values and records. The stored score when
    ``chiso scores compute`` has run for the period (``stored``), else computed now."""
    try:
        return answers.unit_score(conn, rt, method, unit, _period(period, today), today)
    except answers.ScoringError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/rankings/{method}", response_model=answers.Ranking)
async def rankings(method: str, rt: Rt, today: Today,
                   kind: Annotated[str, Query(description="department, agency or commune")]
                   = "commune",
                   period: Annotated[str, Query(description="2026-03, 2026-Q1, 2026-YTD, …")]
                   = "",
                   ) -> Response:
    """Rank, score, the change since the previous period and which criteria moved."""
    p = _period(period, today)
    # A ranking checked within the last second answers from memory on the event loop; the
    # check (database reads) and a recomputation go to the thread pool.
    body = answers.kept_ranking_json(rt, method, kind, p, today)
    if body is None:
        try:
            _, body = await run_in_threadpool(answers.ranking_with_json, rt, method, kind, p,
                                              today)
        except answers.ScoringError as exc:
            raise HTTPException(404, str(exc)) from exc
    return Response(body, media_type="application/json")
