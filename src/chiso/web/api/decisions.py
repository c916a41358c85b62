"""The decision log's API: ``POST /api/v1/decisions`` records a decision taken from a tile
(leaders and operators); ``GET /api/v1/decisions`` lists them with their text (staff who may
read them; unit officers: their unit); ``GET /api/v1/decisions/counts`` counts them per tile
and per month for everyone. Who may call what is the guard's business
(``chiso.access.policy``); here the principal only says who records. The pages are
``chiso.web.pages.decisions``. See docs/dashboard-decisions.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chiso.access.guard import principal
from chiso.context import Runtime
from chiso.dashboard import decision_rights as rights
from chiso.dashboard import decisions as log
from chiso.web.deps import Conn, Id, PageNo, Rt, touch_board

router = APIRouter(tags=["dashboard"])

PER_PAGE = 50


class DecisionOut(BaseModel):
    """A recorded decision: its text, who and when, the tile and the values it showed, and
    the decision that corrected it, if any."""

    model_config = ConfigDict(extra="allow")

    id: int
    tile: str
    text: str
    taken_at: str
    recorded_at: str
    month: str
    actor: str
    role: str
    unit: str | None
    seen: dict[str, Any] | None
    follow_up: str | None
    corrects: int | None
    corrected_by: int | None = None


class DecisionPage(BaseModel):
    page: int
    per_page: int
    unit: str | None
    total: int
    items: list[DecisionOut]


class DecisionCounts(BaseModel):
    """Counts only: per month (YYYY-MM, oldest first), per tile and month, the total and when
    the newest decision was recorded."""

    months: dict[str, int]
    tiles: dict[str, dict[str, int]]
    total: int
    latest: str | None


def _error(exc: log.DecisionError) -> HTTPException:
    """422 in FastAPI's own shape, naming the field: loc ["body", "seen", "value"]."""
    return HTTPException(422, [{"loc": ["body", *exc.field.split(".")], "msg": exc.message,
                                "type": "value_error"}])


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


class Acknowledgement(BaseModel):
    """A unit's acknowledgement of a decision that names it as the one that must act."""

    model_config = ConfigDict(extra="allow")

    decision: int
    unit: str
    actor: str
    note: str | None


def _record(request: Request, rt: Runtime, fields: dict[str, Any]) -> dict[str, Any]:
    stored = rights.record_by(rt.engine, rt.catalog, principal(request), fields)
    touch_board(request, "decisions")
    return stored


@router.post("/api/v1/decisions", status_code=201, response_model=DecisionOut)
def record_decision(body: DecisionIn, request: Request, rt: Rt) -> dict[str, Any]:
    """Record a decision taken from a tile: the text, the tile and the values it showed.
    Append-only: to correct one, record a new decision with ``corrects``. 422 names the
    field at fault."""
    try:
        return _record(request, rt, body.model_dump())
    except log.DecisionError as exc:
        raise _error(exc) from exc


@router.post("/api/v1/decisions/{decision_id}/acknowledge", status_code=201,
             response_model=Acknowledgement)
def acknowledge_decision(decision_id: Id, body: AcknowledgeIn, request: Request, rt: Rt
                         ) -> dict[str, Any]:
    """The unit a decision names as the one that must act acknowledges it, through one of its
    officers, once (append-only; audited). 404 for another unit's decision, 409 when already
    acknowledged or corrected since, 422 for a note too long."""
    try:
        return rights.acknowledge_by(rt.engine, principal(request), decision_id, body.note)
    except log.DecisionError as exc:
        if exc.field == "note":
            raise _error(exc) from exc
        status = 404 if "no decision" in exc.template else 409
        raise HTTPException(status, exc.message) from exc


@router.get("/api/v1/decisions", response_model=DecisionPage)
def list_decisions(conn: Conn,
                   tile: Annotated[str | None, Query(description="a tile id")] = None,
                   month: Annotated[str | None, Query(description="YYYY-MM")] = None,
                   unit: Annotated[str | None, Query(
                       description="the recorder's unit; unit officers: theirs")] = None,
                   page: PageNo = 1,
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


@router.get("/api/v1/decisions/counts", response_model=DecisionCounts)
def decision_counts(conn: Conn, months: Annotated[int, Query(ge=1, le=60)] = 12
                    ) -> dict[str, Any]:
    """How many decisions were taken from the dashboard, per tile and per month (Vietnam
    time), a corrected decision counted once. Counts only: no text, no names."""
    return log.counts(conn, months)


