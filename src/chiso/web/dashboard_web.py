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
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse

from chiso.dashboard.board import Board
from chiso.web.api import Today
from chiso.web.render import Locale, fragment, locale, render
from chiso.web.sse import hub_stream

router = APIRouter()
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _current(request: Request, b: Board) -> bool:
    """The board is kept current by its follower and has every tile."""
    return bool(getattr(request.app.state, "board_follows", False)) and \
        len(b.views) >= len(b.tiles)


def board(request: Request, today: date) -> Board:
    """The app's board; without a follower (tests, scripts) every read recomputes it."""
    b: Board = request.app.state.board
    if not _current(request, b):
        b.refresh(today=today)
    return b


# -- the API ------------------------------------------------------------------------------
@router.get("/api/v1/dashboard", tags=["dashboard"])
async def dashboard(request: Request, today: Today) -> Response:
    """Every group and tile: the operational question, value, target, status (met, on_track,
    at_risk, behind, no_data), monthly trend, the units behind the number, and freshness
    (``as_of``, ``stale``). Served from the board the change stream keeps current."""
    b: Board = request.app.state.board
    if not _current(request, b):  # computing the board reads the database: thread pool
        b = await run_in_threadpool(board, request, today)
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


def _tile_html(request: Request, view: dict[str, Any], lang: str) -> str:
    return fragment(request, lang, "_tile.html", tile=view)


# -- the pages ----------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, lang: Locale, today: Today) -> HTMLResponse:
    b = board(request, today)
    snap = b.snapshot(today)
    return render(request, lang, "dashboard.html", board=snap, version=b.version)


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
