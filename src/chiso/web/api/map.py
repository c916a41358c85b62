"""The commune map's API (docs/dashboard-map.md): values per commune in classes, and the
communes' shapes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from chiso.dashboard import choropleth as cp
from chiso.web import i18n
from chiso.web.deps import Conn, Rt, Today
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


@router.get("/api/v1/map", response_model=MapAnswer, response_model_exclude_unset=True)
def map_api(rt: Rt, conn: Conn, today: Today,
            measure: Annotated[str, Query(description=MEASURE_HELP)] = cp.DEFAULT_MEASURE,
            period: Annotated[str, Query(description=PERIOD_HELP)] = "",
            lang: Annotated[str, Query(description="vi (default) or en: the labels' "
                                                   "language")] = i18n.DEFAULT_LOCALE,
            ) -> dict[str, Any]:
    """Every commune's value of an indicator or a scoring method's score for a period, sorted
    into at most five classes (quantiles; class 0 the worst) with their colours, the layout
    the map is drawn in and the communes with no boundary file. ``value`` null: no data."""
    i18n.current_locale.set(lang if lang in i18n.LOCALES else i18n.DEFAULT_LOCALE)
    try:
        return map_data(rt, conn, today, measure, period)
    except MapError as exc:
        raise HTTPException(exc.status, exc.message) from exc


@router.get("/api/v1/map/shapes", response_model=Shapes, response_model_exclude_unset=True)
def map_shapes(rt: Rt) -> dict[str, Any]:
    """The communes' shapes: simplified boundaries as SVG path data in one viewBox
    (``layout: boundaries``), or tile positions (``layout: grid``) when no boundary files are
    configured; with the communes lacking a boundary file and the files matching no commune."""
    return geometry(rt).as_dict()
