"""The operations dashboard as JSON: the whole board (groups, tiles, statuses) and one tile,
served from the board's last snapshot (the home page renders the same snapshot)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from chiso.dashboard import attention, sme_programme, unit_brief
from chiso.dashboard.board import Board
from chiso.web.deps import Conn, Rt, Today, board, board_current

router = APIRouter(tags=["dashboard"])


class Words(BaseModel):
    vi: str
    en: str


class TileView(BaseModel):
    """One tile: the operational question, its value against the target, status, monthly
    trend, the units behind the number, and freshness; kinds add their own fields."""

    model_config = ConfigDict(extra="allow")

    id: str
    group: str
    kind: str
    title: Words
    question: Words
    value: Any = None
    trend: list[dict[str, Any]]
    where: list[dict[str, Any]]
    target: dict[str, Any] | None
    status: str | None
    stale: bool
    as_of: str | None = None
    computed_at: str


class BoardOut(BaseModel):
    """``GET /api/v1/dashboard``: the groups with their tiles."""

    model_config = ConfigDict(extra="allow")

    groups: list[dict[str, Any]]


@router.get("/api/v1/dashboard", response_model=BoardOut,
            responses={304: {"description": "the reader holds this version (ETag)"}})
async def dashboard(request: Request, today: Today) -> Response:
    """Every group and tile: the operational question, value, target, status (met, on_track,
    at_risk, behind, no_data), monthly trend, the units behind the number, and freshness
    (``as_of``, ``stale``). Served from the board the change stream keeps current."""
    b: Board = request.app.state.board
    if not board_current(request, b):  # computing the board reads the database: thread pool
        b = await run_in_threadpool(board, request, today)
    etag = f'"{b.version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(b.encoded, media_type="application/json",
                    headers={"ETag": etag, "Cache-Control": "no-cache"})


@router.get("/api/v1/dashboard/tiles/{tile_id}", response_model=TileView)
def dashboard_tile(tile_id: str, request: Request, today: Today) -> dict[str, Any]:
    """One tile, as in the board."""
    b = board(request, today)
    if tile_id not in b.views:
        raise HTTPException(404, f"no tile {tile_id!r}")
    return b.views[tile_id]


@router.get("/api/v1/dashboard/attention")
def dashboard_attention(request: Request, rt: Rt, conn: Conn,
                        today: Today) -> attention.FirstScreen:
    """What needs attention first: tiles counted by status (city-wide and per group), the
    warnings that matter most with their sentences, the units whose rank moved most since last
    month, tasks overdue since this week, and decisions past their follow-up date whose tile
    has not moved the way it should."""
    b = board(request, today)
    return attention.first_screen(rt, conn, b.snapshot(today), today)


@router.get("/api/v1/units/{code}/brief")
def unit_brief_api(code: str, rt: Rt, conn: Conn, today: Today) -> unit_brief.UnitBrief:
    """A unit's first screen, for its own officers: its rank and score in each method that
    ranks its kind (the opening month) with the change and the criteria that moved it, its
    targets at risk or behind with their sentences, its overdue tasks, and whether each feed it
    owes was complete and on time that month."""
    try:
        return unit_brief.unit_brief(rt, conn, code, today)
    except unit_brief.UnitBriefError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/api/v1/sme/programme")
def sme_programme_api(rt: Rt, conn: Conn, today: Today,
                      unit: str | None = None) -> sme_programme.SmeProgramme:
    """Plan 232's own questions, for the city or one commune (``unit``): enterprises supported
    since 2026 against this year's milestone, the communes behind their share of it, the
    sectors below the plan's applying ratio, exemplary SMEs by sector, and whether support
    raised readiness and led to contracts."""
    try:
        return sme_programme.programme(conn, rt.catalog, today, unit)
    except sme_programme.SmeProgrammeError as exc:
        raise HTTPException(404, str(exc)) from exc
