"""The operations dashboard: the home page's tiles, their API and their live stream.

``GET /api/v1/dashboard`` is the whole board as JSON (groups, tiles, statuses), served from the
board's last snapshot; the home page renders the same snapshot, and ``/dashboard/stream`` sends
each tile the change stream moved as an HTML fragment that htmx swaps in place.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from chiso.context import Runtime
from chiso.dashboard import attention, unit_brief
from chiso.dashboard.board import STATUSES, Board
from chiso.web.api import Conn, Today
from chiso.web.render import Locale, fragment, locale, render
from chiso.web.sse import hub_stream

router = APIRouter()
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def board(request: Request, today: date) -> Board:
    """The app's board; without a follower (tests, scripts) every read recomputes it."""
    b: Board = request.app.state.board
    if not getattr(request.app.state, "board_follows", False) or len(b.views) < len(b.tiles):
        b.refresh(today=today)
    return b


# -- the API ------------------------------------------------------------------------------
@router.get("/api/v1/dashboard", tags=["dashboard"])
def dashboard(request: Request, today: Today) -> Response:
    """Every group and tile: the operational question, value, target, status (met, on_track,
    at_risk, behind, no_data), monthly trend, the units behind the number, and freshness
    (``as_of``, ``stale``). Served from the board the change stream keeps current."""
    b = board(request, today)
    etag = f'"{b.version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(b.encoded, media_type="application/json",
                    headers={"ETag": etag, "Cache-Control": "no-cache"})


@router.get("/api/v1/dashboard/tiles/{tile_id}", tags=["dashboard"])
def dashboard_tile(tile_id: str, request: Request, today: Today) -> dict[str, Any]:
    """One tile, as in the board."""
    b = board(request, today)
    if tile_id not in b.views:
        raise HTTPException(404, f"no tile {tile_id!r}")
    return b.views[tile_id]


@router.get("/api/v1/dashboard/attention", tags=["dashboard"])
def dashboard_attention(request: Request, conn: Conn, today: Today) -> attention.FirstScreen:
    """What needs attention first: tiles counted by status (city-wide and per group), the
    warnings that matter most with their sentences, the units whose rank moved most since last
    month, tasks overdue since this week, and decisions past their follow-up date whose tile
    has not moved the way it should."""
    b = board(request, today)
    rt: Runtime = request.app.state.runtime
    return attention.first_screen(rt, conn, b.snapshot(today), today)


@router.get("/api/v1/units/{code}/brief", tags=["dashboard"])
def unit_brief_api(code: str, request: Request, conn: Conn, today: Today
                   ) -> unit_brief.UnitBrief:
    """A unit's first screen, for its own officers: its rank and score in each method that
    ranks its kind (the opening month) with the change and the criteria that moved it, its
    targets at risk or behind with their sentences, its overdue tasks, and whether each feed it
    owes was complete and on time that month."""
    rt: Runtime = request.app.state.runtime
    try:
        return unit_brief.unit_brief(rt, conn, code, today)
    except unit_brief.UnitBriefError as exc:
        raise HTTPException(404, str(exc)) from exc


def _tile_html(request: Request, view: dict[str, Any], lang: str) -> str:
    return fragment(request, lang, "_tile.html", tile=view)


# -- the pages ----------------------------------------------------------------------------
def _filtered(snap: dict[str, Any], status: str | None, group: str | None
              ) -> list[dict[str, Any]]:
    """The groups to show below the first screen: all, or only the tiles of a status and
    group (the first screen's counts link here)."""
    out = []
    for g in snap["groups"]:
        if group and g["id"] != group:
            continue
        tiles = [t for t in g["tiles"] if not status or t.get("status") == status]
        if tiles:
            out.append({**g, "tiles": tiles})
    return out


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, lang: Locale, conn: Conn, today: Today,
         status: str = "", group: str = "") -> HTMLResponse:
    """The first screen (what needs attention), then the data groups, each collapsible and
    linkable (``#g-<group>``); ``?status=&group=`` keeps only the tiles of that status."""
    b = board(request, today)
    snap = b.snapshot(today)
    if status and status not in STATUSES:
        raise HTTPException(422, f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if group and group not in {g["id"] for g in snap["groups"]}:
        raise HTTPException(422, f"group: no data group {group!r} on the dashboard")
    rt: Runtime = request.app.state.runtime
    first = attention.first_screen(rt, conn, snap, today)
    young = any(t.get("period_young") for g in snap["groups"] for t in g["tiles"])
    return render(request, lang, "dashboard.html", board=snap, version=b.version,
                  first=first, groups=_filtered(snap, status or None, group or None),
                  tallies={t.group: t for t in first.groups},
                  status=status or None, group=group or None, young=young,
                  titles={g["id"]: g["title"] for g in snap["groups"]})


@router.get("/dashboard/stream", include_in_schema=False)
async def stream(request: Request,
                 limit: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
    """Server-sent events for the open dashboard: ``event: tile-<id>`` with the tile's HTML,
    in the reader's language, each time the board recomputes it."""
    lang = locale(request, request.query_params.get("lang"))
    b: Board = request.app.state.board

    def render(item: dict[str, Any]) -> list[str]:
        if item.get("type") != "tiles":
            return []
        out = []
        for tile_id in item.get("ids", []):
            view = b.views.get(tile_id)
            if view is not None:
                html = _tile_html(request, view, lang)
                data = "\n".join(f"data: {line}" for line in html.splitlines() if line)
                out.append(f"event: tile-{tile_id}\n{data}\n\n")
        return out

    return hub_stream(request.app.state.runtime.hub, render, greeting="chiso dashboard",
                      limit=limit)
