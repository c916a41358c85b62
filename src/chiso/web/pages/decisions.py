"""The decision log's pages: ``/decisions`` counts decisions per tile and per month for
everyone and lists their texts to those the policy lets read them; ``/decisions/new`` is the
form leaders and operators record a decision with. The API is ``chiso.web.api.decisions``.
See docs/dashboard-decisions.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from chiso.access.guard import principal
from chiso.catalog.dashboard import Tile
from chiso.context import Runtime
from chiso.dashboard import decision_rights as rights
from chiso.dashboard import decisions as log
from chiso.dashboard.board import STATUSES, tile_view
from chiso.text import vi_key
from chiso.web import format, i18n
from chiso.web.deps import Conn, Id, PageNo, Rt, Today, board, touch_board
from chiso.web.render import Locale, render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50


def _tiles(rt: Runtime) -> dict[str, Tile]:
    return log.tiles(rt.catalog)


def _groups(rt: Runtime) -> list[dict[str, Any]]:
    board = rt.catalog.dashboard
    return [{"title_vi": g.group.title_vi, "title_en": g.group.title_en, "tiles": g.tiles}
            for g in (board.groups if board else [])]


def _status_text(status: str | None) -> str:
    """A tile status key (met, at_risk…) in the reader's language."""
    if not status:
        return "—"
    texts = STATUSES.get(status)
    if texts is None:
        return status
    return texts["en"] if i18n.current_locale.get() == "en" else texts["vi"]


def _seen_value(value: Any, uom: str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float):
        text = format.number(value, 2)
        return text + "%" if uom == "%" else f"{text} {uom}" if uom else text
    return str(value)


def _as_of(value: str | None) -> str:
    if not value:
        return "—"
    return format.day(log.parse_day(value)) if len(value) == 10 else format.moment(
        log.vietnam_time(value))


HELPERS: dict[str, Callable[..., Any]] = {
    "status_text": _status_text, "seen_value": _seen_value, "as_of": _as_of,
    "vn_time": log.vietnam_time, "day_of": log.parse_day}


# why an acknowledgement failed: set by its form's post, read once by the log page
WHY_COOKIE = "chiso_why"


@router.get("/decisions", response_class=HTMLResponse)
def decisions_page(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
                   tile: str | None = None, month: str | None = None,
                   unit: str | None = None, page: PageNo = 1,
                   recorded: int | None = None, acknowledged: int | None = None,
                   not_acknowledged: int | None = None) -> HTMLResponse:
    who = principal(request)
    # the reason comes from the cookie, never the address: a link cannot word the error box
    why = unquote(request.cookies.get(WHY_COOKIE, ""))[:500] if not_acknowledged else ""
    may_read, scope_unit = rights.readable_unit(who, unit or None)
    listed = None
    problem = None
    if may_read:
        try:
            listed = log.listing(conn, tile=tile or None, month=month or None,
                                 unit=scope_unit, limit=PER_PAGE,
                                 offset=(page - 1) * PER_PAGE)
        except log.DecisionError as exc:
            problem = exc
    query = {k: v for k, v in (("tile", tile), ("month", month), ("unit", unit)) if v}
    since: dict[int, list[dict[str, Any]]] = {}
    if listed is not None:
        views = board(request, today).views
        for d in listed["items"]:
            if d["tile"] in views:
                since[d["id"]] = log.value_since(views[d["tile"]], d["month"])
    acknowledgers = rights.ACKNOWLEDGERS
    ack_units = who.scope(acknowledgers) if who.allowed(acknowledgers) else frozenset()
    page_html = render(
        request, lang, "decisions.html", counts=log.counts(conn, 12), since=since,
        ack_units=ack_units or frozenset(), acknowledged=acknowledged,
        not_acknowledged=not_acknowledged, why=why, csrf=who.csrf or "", today=today,
        units=_units(rt), tiles=_tiles(rt), listed=listed, may_read=may_read,
        may_record=who.allowed(rights.WRITERS), tile=tile, month=month, unit=scope_unit,
        page=page, per_page=PER_PAGE, recorded=recorded, problem=problem,
        query=urlencode(query), unit_name=lambda code: _unit_name(rt, code), **HELPERS)
    if WHY_COOKIE in request.cookies:
        page_html.delete_cookie(WHY_COOKIE, path="/decisions")
    return page_html


def _units(rt: Runtime) -> list[tuple[str, list[tuple[str, str]]]]:
    """The units a decision can name as the one that must act, by kind."""
    registry = rt.catalog.units
    kinds = [("department", "Departments and agencies"), ("agency", ""),
             ("commune", "Communes and wards")]
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for kind, label in kinds:
        units = sorted(((u.code, u.name) for u in registry.units.values()
                        if u.kind.value == kind), key=lambda cu: vi_key(cu[1]))
        if label:
            out.append((label, units))
        elif out:
            out[-1] = (out[-1][0], sorted(out[-1][1] + units, key=lambda cu: vi_key(cu[1])))
    return out


def _form(request: Request, lang: str, rt: Runtime, conn: Connection, today: Any,
          tile_id: str | None, values: dict[str, Any], error: log.DecisionError | None = None,
          status: int = 200) -> HTMLResponse:
    tile = _tiles(rt).get(tile_id or "")
    seen = values.get("seen")
    if tile is not None and seen is None:
        seen = log.seen_from_view(tile_view(conn, rt.catalog, tile, today))
    page = render(request, lang, "decision_form.html", tile=tile, tile_id=tile_id,
                  units=_units(rt),
                  groups=_groups(rt), seen=seen,
                  seen_json=json.dumps(seen, ensure_ascii=False) if seen is not None else "",
                  values=values, error=error, csrf=principal(request).csrf or "",
                  **HELPERS)
    page.status_code = status
    return page


@router.get("/decisions/new", response_class=HTMLResponse)
def decision_form(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
                  tile: str | None = None, corrects: int | None = None) -> HTMLResponse:
    return _form(request, lang, rt, conn, today, tile,
                 {"corrects": corrects} if corrects else {})


FORM_FIELDS = ("tile", "text", "seen", "taken_at", "follow_up", "corrects", "plan_key",
               "target_id", "task_id", "unit", "acting_unit")


@router.post("/decisions")
async def decision_post(request: Request, lang: Locale, rt: Rt, today: Today) -> Response:
    form = await request.form()
    fields: dict[str, Any] = {k: str(form.get(k) or "").strip() or None for k in FORM_FIELDS}
    fields["text"] = fields["text"] or ""
    fields["tile"] = fields["tile"] or ""
    try:
        stored = rights.record_by(rt.engine, rt.catalog, principal(request), dict(fields))
        touch_board(request, "decisions")
    except log.DecisionError as exc:
        try:
            seen: Any = log.check_seen(fields["seen"])
        except log.DecisionError:
            seen = None
        with rt.engine.connect() as conn:
            return _form(request, lang, rt, conn, today, fields["tile"] or None,
                         {**fields, "seen": seen}, exc, 422)
    target = "/decisions?" + urlencode({"tile": stored["tile"], "recorded": stored["id"]})
    return RedirectResponse(target, status_code=303)


@router.post("/decisions/{decision_id}/acknowledge")
async def acknowledge_post(decision_id: Id, request: Request, rt: Rt) -> Response:
    """The acknowledgement form's post: back to the log, saying it was recorded or why not."""
    form = await request.form()
    try:
        rights.acknowledge_by(rt.engine, principal(request), decision_id,
                              str(form.get("note") or "") or None)
    except log.DecisionError as exc:
        back = RedirectResponse("/decisions?" + urlencode({"not_acknowledged": decision_id}),
                                status_code=303)
        back.set_cookie(WHY_COOKIE, quote(_explain(exc)), max_age=120, path="/decisions",
                        httponly=True, samesite="strict")
        return back
    return RedirectResponse(f"/decisions?acknowledged={decision_id}#d{decision_id}",
                            status_code=303)


FIELD_LABELS = {"tile": "Tile", "text": "The decision", "seen": "Values seen",
                "taken_at": "Taken at", "follow_up": "Follow-up date",
                "corrects": "Corrects decision", "plan_key": "Plan", "target_id": "Target",
                "task_id": "Task", "unit": "Unit", "acting_unit": "Unit that must act",
                "decision": "Decision", "note": "Note"}


def _field_label(field: str) -> str:
    base, _, part = field.partition(".")
    label = i18n.gettext(FIELD_LABELS.get(base, base))
    return f"{label} ({part})" if part else label


def _explain(error: log.DecisionError) -> str:
    """The error in the reader's language: the template translated, then filled."""
    return i18n.gettext(error.template).format(**error.values)


def _unit_name(rt: Runtime, code: str | None) -> str:
    if not code:
        return ""
    found = rt.catalog.units.units.get(code)
    return found.name if found else code


HELPERS.update(field_label=_field_label, explain=_explain)
