"""The commune map's API (docs/dashboard-map.md): values per commune in classes, and the
communes' shapes."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from chiso.context import Runtime
from chiso.dashboard import choropleth as cp
from chiso.measurement import values as mv
from chiso.web import i18n
from chiso.web.deps import Rt, Today
from chiso.web.kept import keep, kept_answer
from chiso.web.map_data import MapError, geometry, map_data

router = APIRouter(tags=["dashboard"])


class MapClass(BaseModel):
    min: float | None
    max: float | None
    colour: str
    text_colour: str
    label: str


class MapCommune(BaseModel):
    code: str
    name: str
    value: float | None = Field(description="null: no data")
    klass: int | None = Field(alias="class", description="index into classes; 0 the worst")
    text: str
    records: int | None = None
    rank: int | None = None


class MapAnswer(BaseModel):
    """``GET /api/v1/map``."""

    measure: str
    period: str
    name_vi: str
    name_en: str
    unit_of_measure: str
    direction: str
    layout: str = Field(description="boundaries or grid")
    classes: list[MapClass]
    no_data_colour: str
    communes: list[MapCommune]
    missing_boundaries: list[str]


class Shape(BaseModel):
    """A commune's simplified boundary (``d``, SVG path data) or tile (x, y, width, height)."""

    code: str
    name: str
    label: str
    d: str | None = None
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None


class Shapes(BaseModel):
    """``GET /api/v1/map/shapes``."""

    layout: str
    view_box: str
    width: float
    height: float
    outline: str | None
    communes: list[Shape]
    missing_boundaries: list[str]
    unmatched_files: list[str]
    problems: list[str]

MEASURE_HELP = ("indicator:<code> (any indicator, e.g. indicator:tthc.on_time_rate) or "
                "score:<method> (e.g. score:dvc-766); default indicator:tthc.on_time_rate")
PERIOD_HELP = "2026-10 (month), 2026-Q3, 2026-H1, 2026, 2026-YTD, …; default: this month"


_MAP_CACHE = "web.map"


def _mark(rt: Runtime, conn: Connection, measure: str) -> tuple[Any, ...] | None:
    """The indicator's state mark (``values.state_mark``); None (not kept) for scores and
    for a measure that is not a known indicator (its error is answered each time)."""
    kind, _, code = measure.partition(":")
    m = rt.catalog.measurement
    if kind != "indicator" or m is None or code not in m.indicators:
        return None
    return mv.state_mark(conn, m, code)


@router.get("/api/v1/map", response_model=MapAnswer)
async def map_api(rt: Rt, today: Today,
            measure: Annotated[str, Query(description=MEASURE_HELP)] = cp.DEFAULT_MEASURE,
            period: Annotated[str, Query(description=PERIOD_HELP)] = "",
            lang: Annotated[str, Query(description="vi (default) or en: the labels' "
                                                   "language")] = i18n.DEFAULT_LOCALE,
            ) -> Response:
    """Every commune's value of an indicator or a scoring method's score for a period, sorted
    into at most five classes (quantiles; class 0 the worst) with their colours, the layout
    the map is drawn in and the communes with no boundary file. ``value`` null: no data."""
    lang = lang if lang in i18n.LOCALES else i18n.DEFAULT_LOCALE
    key = (measure, period, lang, today.isoformat(), rt.catalog.digest)
    body = kept_answer(rt, _MAP_CACHE, key)
    if body is None:
        body = await run_in_threadpool(_map_body, rt, today, key)
    return Response(body, media_type="application/json")


def _map_body(rt: Runtime, today: date, key: tuple[Any, ...]) -> bytes:
    measure, period, lang = key[:3]
    i18n.current_locale.set(lang)
    generation = rt.hub.generation
    with rt.engine.connect() as conn:
        # Kept with the indicator's state mark, as the values API keeps its answers.
        mark = _mark(rt, conn, measure or cp.DEFAULT_MEASURE)

        def answer() -> bytes:
            try:
                got = map_data(rt, conn, today, measure, period)
            except MapError as exc:
                raise HTTPException(exc.status, exc.message) from exc
            return json.dumps(got, ensure_ascii=False, separators=(",", ":")).encode()

        return keep(rt, _MAP_CACHE, key, mark, generation, answer)


@router.get("/api/v1/map/shapes", response_model=Shapes, response_model_exclude_unset=True)
def map_shapes(rt: Rt) -> dict[str, Any]:
    """The communes' shapes: simplified boundaries as SVG path data in one viewBox
    (``layout: boundaries``), or tile positions (``layout: grid``) when no boundary files are
    configured; with the communes lacking a boundary file and the files matching no commune."""
    return geometry(rt).as_dict()
