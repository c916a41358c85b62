"""The decision log: decisions taken from a dashboard tile, and their counts.

``POST /api/v1/decisions`` and the form at ``/decisions/new`` record a decision (leaders and
operators); ``GET /api/v1/decisions`` lists them with their text (staff who may read them;
unit officers: their unit); ``GET /api/v1/decisions/counts`` and the page ``/decisions`` count
them per tile and per month for everyone. Who may call what is the guard's business
(``chiso.access.policy``); here the principal only says who records, and the page shows texts
to those the policy lets read the listing. See docs/dashboard-decisions.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from chiso.access.guard import principal
from chiso.access.policy import Rule, rule_for
from chiso.access.roles import LEADER, Principal
from chiso.catalog.dashboard import Tile
from chiso.context import Runtime
from chiso.dashboard import decisions as log
from chiso.dashboard.board import STATUSES, tile_view
from chiso.web import format, i18n
from chiso.web.api import Conn, Today, runtime
from chiso.web.render import Locale, render

router = APIRouter()

Rt = Annotated[Runtime, Depends(runtime)]
PER_PAGE = 50


def _rule(method: str, path: str) -> Rule:
    found = rule_for(method, path)
    assert found is not None, f"no access rule for {method} {path}"
    return found


# The policy decides; the page asks it who may read texts and who may record.
READERS = _rule("GET", "/api/v1/decisions").roles
WRITERS = _rule("POST", "/api/v1/decisions").roles
ACKNOWLEDGERS = _rule("POST", "/api/v1/decisions/{decision_id}/acknowledge").roles


def _error(exc: log.DecisionError) -> HTTPException:
    """422 in FastAPI's own shape, naming the field: loc ["body", "seen", "value"]."""
    return HTTPException(422, [{"loc": ["body", *exc.field.split(".")], "msg": exc.message,
                                "type": "value_error"}])


def _recorder(who: Principal, unit: str | None) -> tuple[str, str | None]:
    """(role, unit) of the one recording: the unit when all their recording grants are
    limited to units (one of them: ``unit`` chooses when they hold several)."""
    held = who.roles & WRITERS
    role = LEADER if LEADER in held else min(held)
    units = who.scope(WRITERS)
    if units is None:
        return role, None
    if unit in units:
        return role, unit
    if len(units) == 1:
        return role, next(iter(units))
    raise log.DecisionError("unit", "choose one of your units: {units}",
                            units=", ".join(sorted(units)))


def _readable_unit(who: Principal, unit: str | None) -> tuple[bool, str | None]:
    """May this principal read decisions' texts, and limited to which unit (None: all)."""
    if not who.allowed(READERS):
        return False, None
    units = who.scope(READERS)
    if units is None:
        return True, unit or None
    return True, unit if unit in units else min(units)


# -- the API ------------------------------------------------------------------------------
class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tile: str = Field(description="the tile's id (GET /api/v1/dashboard)")
    text: str = Field(description=f"what was decided, at most {log.MAX_TEXT} characters")
    seen: dict[str, Any] | None = Field(
        default=None, description="the tile's values as seen: " + ", ".join(log.SEEN_KEYS))
    taken_at: str | None = Field(default=None, description="ISO 8601; default now; without "
                                 "an offset: Vietnam time")
    corrects: int | None = Field(default=None, description="the decision this one corrects")
    follow_up: str | None = Field(default=None, description="a follow-up date, YYYY-MM-DD")
    plan_key: str | None = None
    target_id: str | None = None
    task_id: str | None = None
    unit: str | None = Field(default=None, description="unit-limited leaders of several "
                             "units: which one records")
    acting_unit: str | None = Field(default=None, description="the unit that must act on "
                                    "the decision by the follow_up date (then required)")


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, description="what the unit will do, optional")


def _touch(request: Request) -> None:
    """The decisions tile moves with a decision: tell the board, if the app keeps one."""
    board = getattr(request.app.state, "board", None)
    if board is not None:
        board.touch("decisions")


def _record(request: Request, rt: Runtime, fields: dict[str, Any]) -> dict[str, Any]:
    who = principal(request)
    role, unit = _recorder(who, fields.pop("unit", None))
    with rt.engine.begin() as conn:
        stored = log.record(conn, rt.catalog, actor=who.actor, role=role, unit=unit, **fields)
    _touch(request)
    return stored


@router.post("/api/v1/decisions", status_code=201, tags=["dashboard"])
def record_decision(body: DecisionIn, request: Request, rt: Rt) -> dict[str, Any]:
    """Record a decision taken from a tile: the text, the tile and the values it showed.
    Append-only: to correct one, record a new decision with ``corrects``. 422 names the
    field at fault."""
    try:
        return _record(request, rt, body.model_dump())
    except log.DecisionError as exc:
        raise _error(exc) from exc


def _acknowledge(request: Request, rt: Runtime, decision_id: int, note: str | None
                 ) -> dict[str, Any]:
    who = principal(request)
    with rt.engine.begin() as conn:
        return log.acknowledge(conn, decision_id, actor=who.actor, note=note,
                               units=who.scope(ACKNOWLEDGERS))


@router.post("/api/v1/decisions/{decision_id}/acknowledge", status_code=201,
             tags=["dashboard"])
def acknowledge_decision(decision_id: int, body: AcknowledgeIn, request: Request, rt: Rt
                         ) -> dict[str, Any]:
    """The unit a decision names as the one that must act acknowledges it, through one of its
    officers, once (append-only; audited). 404 for another unit's decision, 409 when already
    acknowledged or corrected since, 422 for a note too long."""
    try:
        return _acknowledge(request, rt, decision_id, body.note)
    except log.DecisionError as exc:
        if exc.field == "note":
            raise _error(exc) from exc
        status = 404 if "no decision" in exc.template else 409
        raise HTTPException(status, exc.message) from exc


@router.get("/api/v1/decisions", tags=["dashboard"])
def list_decisions(conn: Conn,
                   tile: Annotated[str | None, Query(description="a tile id")] = None,
                   month: Annotated[str | None, Query(description="YYYY-MM")] = None,
                   unit: Annotated[str | None, Query(
                       description="the recorder's unit; unit officers: theirs")] = None,
                   page: Annotated[int, Query(ge=1)] = 1,
                   per_page: Annotated[int, Query(ge=1, le=200)] = PER_PAGE,
                   ) -> dict[str, Any]:
    """Decisions, newest first: text, who, when, the tile and the values it showed; each
    says which decision corrected it (``corrected_by``)."""
    try:
        found = log.listing(conn, tile=tile or None, month=month or None, unit=unit or None,
                            limit=per_page, offset=(page - 1) * per_page)
    except log.DecisionError as exc:
        raise HTTPException(422, [{"loc": ["query", exc.field], "msg": exc.message,
                                   "type": "value_error"}]) from exc
    return {"page": page, "per_page": per_page, "unit": unit or None, **found}


@router.get("/api/v1/decisions/counts", tags=["dashboard"])
def decision_counts(conn: Conn, months: Annotated[int, Query(ge=1, le=60)] = 12
                    ) -> dict[str, Any]:
    """How many decisions were taken from the dashboard, per tile and per month (Vietnam
    time), a corrected decision counted once. Counts only: no text, no names."""
    return log.counts(conn, months)


# -- the pages ----------------------------------------------------------------------------
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


@router.get("/decisions", response_class=HTMLResponse, include_in_schema=False)
def decisions_page(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
                   tile: str | None = None, month: str | None = None,
                   unit: str | None = None, page: Annotated[int, Query(ge=1)] = 1,
                   recorded: int | None = None, acknowledged: int | None = None,
                   not_acknowledged: int | None = None, why: str = "") -> HTMLResponse:
    who = principal(request)
    may_read, scope_unit = _readable_unit(who, unit or None)
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
        views = _views(request, today)
        for d in listed["items"]:
            if d["tile"] in views:
                since[d["id"]] = log.value_since(views[d["tile"]], d["month"])
    ack_units = who.scope(ACKNOWLEDGERS) if who.allowed(ACKNOWLEDGERS) else frozenset()
    return render(request, lang, "decisions.html", counts=log.counts(conn, 12),
                  since=since, ack_units=ack_units or frozenset(),
                  acknowledged=acknowledged, not_acknowledged=not_acknowledged, why=why,
                  csrf=who.csrf or "", today=today,
                  units=_units(rt),
                  tiles=_tiles(rt), listed=listed, may_read=may_read,
                  may_record=who.allowed(WRITERS), tile=tile, month=month, unit=scope_unit,
                  page=page, per_page=PER_PAGE, recorded=recorded, problem=problem,
                  query=urlencode(query), unit_name=lambda code: _unit_name(rt, code),
                  **HELPERS)


def _views(request: Request, today: Any) -> dict[str, dict[str, Any]]:
    """The board's tile views (the app's board; computed once when it has none yet)."""
    board = request.app.state.board
    if len(board.views) < len(board.tiles):
        board.refresh(today=today)
    views: dict[str, dict[str, Any]] = board.views
    return views


def _units(rt: Runtime) -> list[tuple[str, list[tuple[str, str]]]]:
    """The units a decision can name as the one that must act, by kind."""
    registry = rt.catalog.units
    kinds = [("department", "Departments and agencies"), ("agency", ""),
             ("commune", "Communes and wards")]
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for kind, label in kinds:
        units = sorted(((u.code, u.name) for u in registry.units.values()
                        if u.kind.value == kind), key=lambda cu: cu[1])
        if label:
            out.append((label, units))
        elif out:
            out[-1] = (out[-1][0], sorted(out[-1][1] + units, key=lambda cu: cu[1]))
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


@router.get("/decisions/new", response_class=HTMLResponse, include_in_schema=False)
def decision_form(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
                  tile: str | None = None, corrects: int | None = None) -> HTMLResponse:
    return _form(request, lang, rt, conn, today, tile,
                 {"corrects": corrects} if corrects else {})


FORM_FIELDS = ("tile", "text", "seen", "taken_at", "follow_up", "corrects", "plan_key",
               "target_id", "task_id", "unit", "acting_unit")


@router.post("/decisions", include_in_schema=False)
async def decision_post(request: Request, lang: Locale, rt: Rt, today: Today) -> Response:
    form = await request.form()
    fields: dict[str, Any] = {k: str(form.get(k) or "").strip() or None for k in FORM_FIELDS}
    fields["text"] = fields["text"] or ""
    fields["tile"] = fields["tile"] or ""
    try:
        stored = _record(request, rt, dict(fields))
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


@router.post("/decisions/{decision_id}/acknowledge", include_in_schema=False)
async def acknowledge_post(decision_id: int, request: Request, rt: Rt) -> Response:
    """The acknowledgement form's post: back to the log, saying it was recorded or why not."""
    form = await request.form()
    try:
        _acknowledge(request, rt, decision_id, str(form.get("note") or "") or None)
    except log.DecisionError as exc:
        return RedirectResponse("/decisions?" + urlencode(
            {"not_acknowledged": decision_id, "why": _explain(exc)}), status_code=303)
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
