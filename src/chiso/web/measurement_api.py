"""Measurement API (docs/measurement.md): indicator definitions, values for any
period and level with their as-of time, target progress, the records behind a number, and the
change stream (server-sent events)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Connection, func, select

from chiso.catalog.indicators import Indicator, Measurement
from chiso.context import Runtime
from chiso.measurement import engine as eng
from chiso.measurement import progress as measured_progress
from chiso.measurement import values as mv
from chiso.measurement.compile import compile_condition
from chiso.measurement.periods import PeriodError, parse_period
from chiso.store import catalog_reads as reads
from chiso.web.api import Conn, Today, keep, kept_answer, runtime
from chiso.web.sse import hub_stream

router = APIRouter(prefix="/api/v1", tags=["measurement"])

Rt = Annotated[Runtime, Depends(runtime)]
PERIOD_HELP = ("2026-10-15 (day), 2026-10 (month), 2026-Q3, 2026-H1, 2026, 2026-YTD, or "
               "2026-01-15..2026-03-31; Vietnamese days (+07:00)")


def _measurement(rt: Runtime) -> Measurement:
    m = rt.catalog.measurement
    if m is None:
        raise HTTPException(404, "no indicator definitions in the catalog")
    return m


def _indicator(rt: Runtime, code: str) -> Indicator:
    ind = _measurement(rt).indicators.get(code)
    if ind is None:
        raise HTTPException(404, f"no indicator {code!r}")
    return ind


def _summary(ind: Indicator) -> dict[str, Any]:
    return {"code": ind.code, "name_vi": ind.name_vi, "name_en": ind.name_en,
            "feed": ind.feed, "kind": ind.kind.value, "time_field": ind.time_field,
            "unit_of_measure": ind.unit_of_measure, "direction": ind.direction,
            "rollup": ind.rollup, "state": eng.shape(ind)}


@router.get("/indicators")
def list_indicators(rt: Rt, feed: str | None = None) -> list[dict[str, Any]]:
    """Every indicator definition (summary); ``feed`` filters by feed."""
    return [_summary(i) for i in _measurement(rt).indicators.values()
            if feed is None or i.feed == feed]


@router.get("/indicators/{code}")
def get_indicator(code: str, rt: Rt) -> dict[str, Any]:
    """One indicator's whole definition, as its file says it, and the targets bound to it."""
    ind = _indicator(rt, code)
    bound = [{"plan": pb.plan, "target": b.target, "level": b.level}
             for pb in _measurement(rt).plans.values() for b in pb.bound
             if code in b.indicators]
    return {**ind.model_dump(mode="json", by_alias=True), "state": eng.shape(ind),
            "targets": bound}


def _members(rt: Runtime, unit: str | None) -> list[str] | None:
    """A group's member units (a group code rolls up its members); None for a plain unit."""
    if unit and unit in rt.catalog.units.groups:
        return rt.catalog.units.expand(unit)
    return None


def values_answer(rt: Runtime, conn: Connection, today: date, code: str, period: str = "",
                  unit: str | None = None, level: mv.Level | None = None,
                  by: Literal["period", "day"] = "period") -> dict[str, Any]:
    """What ``GET /indicators/{code}/values`` answers (the indicator pages read it too);
    raises HTTPException 404/422 with the reason."""
    ind = _indicator(rt, code)
    period = period or f"{today.year}-YTD"
    try:
        vals = mv.values(conn, _measurement(rt), code, period, unit, level,
                         _members(rt, unit), today)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    out: dict[str, Any] = {"indicator": _summary(ind), "period": period,
                           "level": level or ("unit" if unit else "city"),
                           "values": [v.as_dict() for v in vals]}
    if by == "day":
        out["days"] = mv.day_series(conn, code, period, unit, _measurement(rt))
    return out


_VALUES_CACHE = "web.values"


@router.get("/indicators/{code}/values")
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
    _indicator(rt, code)
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
        mark = mv.state_mark(conn, _measurement(rt), code)
        return keep(rt, _VALUES_CACHE, key, mark, generation, lambda: json.dumps(
            values_answer(rt, conn, today, code, period, unit, level, by),
            ensure_ascii=False, separators=(",", ":")).encode())


@router.get("/plans/{key}/targets/{target_id}/progress")
def target_progress(key: str, target_id: str, rt: Rt, conn: Conn,
                    today: Today) -> dict[str, Any]:
    """The bound indicators' values against the target's threshold: for the city and, for
    ``level: implementing`` bindings, each implementing unit, over each judged period."""
    target = reads.get_target(conn, key, target_id)
    if target is None:
        raise HTTPException(404, f"no target {target_id} in plan {key}")
    progress = measured_progress.target_progress(conn, _measurement(rt), target, today)
    if progress is None:
        raise HTTPException(404, f"target {target_id} has no binding")
    return progress


@router.get("/indicators/{code}/records")
def indicator_records(
    code: str, rt: Rt, conn: Conn, today: Today,
    period: Annotated[str, Query(description=PERIOD_HELP)] = "",
    unit: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The latest records behind a value, paged (personal fields are pseudonyms from intake).
    ``counts`` says whether each record adds to the numerator (or the count)."""
    ind = _indicator(rt, code)
    try:
        p = parse_period(period or f"{today.year}-YTD", today)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    latest, where = mv.records_query(conn, ind, p, unit)
    side = ind.numerator or ind.value
    counts = compile_condition(side.where if side else None, latest, conn.dialect.name,
                               ind.working_days)
    total = conn.execute(select(func.count()).select_from(latest).where(*where)).scalar_one()
    rows = conn.execute(
        select(latest, counts.label("counts")).where(*where)
        .order_by(latest.c.unit, latest.c.source, latest.c.record_id)
        .limit(size).offset((page - 1) * size)).mappings().all()
    items = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
             for r in rows]
    return {"indicator": code, "period": p.label, "unit": unit, "total": total, "page": page,
            "size": size, "records": items}


@router.get("/stream")
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
