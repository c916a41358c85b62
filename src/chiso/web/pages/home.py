"""The home page: the operations dashboard's tiles, and their live stream.

The page renders the board's last snapshot (the one ``/api/v1/dashboard`` serves), and
``/dashboard/stream`` sends each tile the change stream moved as an HTML fragment that htmx
swaps in place.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from chiso.dashboard import attention, sme_programme
from chiso.dashboard.board import STATUSES, Board
from chiso.web.deps import Conn, Rt, Today, board
from chiso.web.render import Locale, fragment, locale, render
from chiso.web.sse import hub_stream

router = APIRouter(include_in_schema=False)


def _tile_html(request: Request, view: dict[str, Any], lang: str) -> str:
    return fragment(request, lang, "_tile.html", tile=view)


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


@router.get("/", response_class=HTMLResponse)
def home(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
         status: str = "", group: str = "") -> HTMLResponse:
    """The first screen (what needs attention), then the data groups, each collapsible and
    linkable (``#g-<group>``); ``?status=&group=`` keeps only the tiles of that status."""
    b = board(request, today)
    snap = b.snapshot(today)
    if status and status not in STATUSES:
        raise HTTPException(422, f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if group and group not in {g["id"] for g in snap["groups"]}:
        raise HTTPException(422, f"group: no data group {group!r} on the dashboard")
    first = attention.first_screen(rt, conn, snap, today)
    young = any(t.get("period_young") for g in snap["groups"] for t in g["tiles"])
    return render(request, lang, "dashboard.html", board=snap, version=b.version,
                  first=first, groups=_filtered(snap, status or None, group or None),
                  tallies={t.group: t for t in first.groups},
                  status=status or None, group=group or None, young=young,
                  titles={g["id"]: g["title"] for g in snap["groups"]})


@router.get("/sme", response_class=HTMLResponse)
def sme(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today) -> HTMLResponse:
    """The SME programme (plan 232) on one page: this year against its milestone, every
    commune against its share, every sector against the plan's applying ratio, exemplary
    SMEs by sector, and the results of support."""
    try:
        answer = sme_programme.programme(conn, rt.catalog, today)
    except sme_programme.SmeProgrammeError as exc:
        raise HTTPException(404, str(exc)) from exc
    return render(request, lang, "sme.html", sme=answer)


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
