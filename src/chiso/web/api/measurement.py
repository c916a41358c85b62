"""Measurement API (docs/measurement.md): indicator definitions, values for any
period and level with their as-of time, target progress, the records behind a number, and the
change stream (server-sent events)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Connection

from chiso.context import Runtime
from chiso.measurement import answers
from chiso.measurement import progress as measured_progress
from chiso.measurement import values as mv
from chiso.store import catalog_reads as reads
from chiso.web.deps import Conn, PageNo, ReadConn, Rt, Today
from chiso.web.kept import keep, kept_answer
from chiso.web.sse import hub_stream

router = APIRouter(prefix="/api/v1", tags=["measurement"])

PERIOD_HELP = ("2026-10-15 (day), 2026-10 (month), 2026-Q3, 2026-H1, 2026-9T, 2026, 2026-YTD, or "
               "2026-01-15..2026-03-31; Vietnamese days (+07:00)")


def _http(exc: answers.MeasurementError) -> HTTPException:
    return HTTPException(404 if exc.kind == "missing" else 422, exc.message)


@router.get("/indicators")
def list_indicators(rt: Rt, feed: str | None = None) -> list[answers.IndicatorSummary]:
    """Every indicator definition (summary); ``feed`` filters by feed."""
    try:
        return answers.summaries(rt, feed)
    except answers.MeasurementError as exc:
        raise _http(exc) from exc


@router.get("/indicators/{code}", response_model=answers.IndicatorDefinitionOut,
            response_model_exclude_unset=True)
def get_indicator(code: str, rt: Rt) -> dict[str, Any]:
    """One indicator's whole definition, as its file says it, and the targets bound to it."""
    try:
        return answers.definition(rt, code).as_json()
    except answers.MeasurementError as exc:
        raise _http(exc) from exc


def values_answer(rt: Runtime, conn: Connection, today: date, code: str, period: str = "",
                  unit: str | None = None, level: answers.Level | None = None,
                  by: Literal["period", "day"] = "period") -> dict[str, Any]:
    """What ``GET /indicators/{code}/values`` answers; HTTPException 404/422 with the
    reason."""
    try:
        got = answers.indicator_values(rt, conn, code, period, today, unit=unit, level=level,
                                       by_day=by == "day")
    except answers.MeasurementError as exc:
        raise _http(exc) from exc
    out = got.model_dump()
    if got.days is None:
        del out["days"]
    return out


_VALUES_CACHE = "web.values"


@router.get("/indicators/{code}/values", response_model=answers.IndicatorValuesOut)
async def indicator_values(
    code: str, rt: Rt, today: Today,
    period: Annotated[str, Query(description=PERIOD_HELP)] = "",
    unit: Annotated[str | None, Query(description="A unit or group code")] = None,
    level: Annotated[Literal["unit", "units", "city"] | None, Query(
        description="unit: the unit (or the group rolled up); units: each unit with data; "
                    "city: every unit rolled up (default without unit)")] = None,
    by: Annotated[Literal["period", "day"], Query(
        description="day: also the day-by-day series (additive indicators)")] = "period",
) -> Response:
    """The indicator's values for a period, with their as-of time and record count."""
    try:
        answers.indicator(rt, code)
    except answers.MeasurementError as exc:
        raise _http(exc) from exc
    period = period or f"{today.year}-YTD"
    key = (code, period, unit, level, by, today.isoformat(), rt.catalog.digest)
    body = kept_answer(rt, _VALUES_CACHE, key)
    if body is None:
        body = await run_in_threadpool(_values_body, rt, today, key)
    return Response(body, media_type="application/json")


def _values_body(rt: Runtime, today: date, key: tuple[Any, ...]) -> bytes:
    code, period, unit, level, by = key[:5]
    generation = rt.hub.generation
    with rt.engine.connect() as conn:
        # The answer is kept with the state's mark: one small query tells whether the
        # records behind it moved (a batch, a recompute), so a repeated read costs no more.
        mark = mv.state_mark(conn, answers.measurement(rt), code)
        return keep(rt, _VALUES_CACHE, key, mark, generation, lambda: json.dumps(
            values_answer(rt, conn, today, code, period, unit, level, by),
            ensure_ascii=False, separators=(",", ":")).encode())


@router.get("/plans/{key}/targets/{target_id}/progress", response_model=answers.TargetProgress,
            response_model_exclude_unset=True)
def target_progress(key: str, target_id: str, rt: Rt, conn: ReadConn,
                    today: Today) -> dict[str, Any]:
    """The bound indicators' values against the target's threshold: for the city and, for
    ``level: implementing`` bindings, each implementing unit, over each judged period."""
    target = reads.get_target(conn, key, target_id)
    if target is None:
        raise HTTPException(404, f"no target {target_id} in plan {key}")
    try:
        m = answers.measurement(rt)
    except answers.MeasurementError as exc:
        raise _http(exc) from exc
    progress = measured_progress.target_progress(conn, m, target, today)
    if progress is None:
        raise HTTPException(404, f"target {target_id} has no binding")
    return progress


@router.get("/indicators/{code}/records")
def indicator_records(
    code: str, rt: Rt, conn: Conn, today: Today,
    period: Annotated[str, Query(description=PERIOD_HELP)] = "",
    unit: str | None = None,
    page: PageNo = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> answers.RecordPage:
    """The latest records behind a value, paged (personal fields are pseudonyms from intake).
    ``counts`` says whether each record adds to the numerator (or the count)."""
    try:
        return answers.indicator_records(rt, conn, code, period, today, unit=unit, page=page,
                                         size=size)
    except answers.MeasurementError as exc:
        raise _http(exc) from exc


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events"}})
async def stream(
    request: Request,
    limit: Annotated[int | None, Query(ge=0, description="Close after this many events")]
    = None,
    keepalive: Annotated[float, Query(gt=0, le=300)] = 15.0,
) -> StreamingResponse:
    """Server-sent events: ``event: value`` with ``{indicator, unit, period, value, numerator,
    denominator, records, as_of}`` for each day-state row (or published value) a committed
    batch changed. A comment line every ``keepalive`` seconds keeps proxies from closing.
    A client that does not accept ``text/event-stream`` (not an EventSource) gets the opening
    comment only, then the response ends."""
    if "text/event-stream" not in request.headers.get("accept", ""):
        limit = 0

    def render(item: dict[str, Any]) -> list[str]:
        if "indicator" not in item:  # scores and tiles travel on the same hub
            return []
        return [f"event: value\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"]

    rt: Runtime = request.app.state.runtime
    return hub_stream(rt.hub, render, greeting="chiso value stream", limit=limit,
                      keepalive=keepalive)
