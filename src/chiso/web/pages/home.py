"""The home page: the operations dashboard's tiles, and their live stream.

The page renders the board's last snapshot (the one ``/api/v1/dashboard`` serves), and
``/dashboard/stream`` sends each tile the change stream moved as an HTML fragment that htmx
swaps in place.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from chiso.dashboard.board import Board
from chiso.web.deps import Today, board
from chiso.web.render import Locale, fragment, locale, render
from chiso.web.sse import hub_stream

router = APIRouter(include_in_schema=False)


def _tile_html(request: Request, view: dict[str, Any], lang: str) -> str:
    return fragment(request, lang, "_tile.html", tile=view)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, lang: Locale, today: Today) -> HTMLResponse:
    b = board(request, today)
    snap = b.snapshot(today)
    return render(request, lang, "dashboard.html", board=snap, version=b.version)


@router.get("/dashboard/stream")
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
