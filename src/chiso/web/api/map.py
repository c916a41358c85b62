"""The commune map's API (docs/dashboard-map.md): values per commune in classes, and the
communes' shapes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from chiso.dashboard import choropleth as cp
from chiso.web import i18n
from chiso.web.deps import Conn, Rt, Today
from chiso.web.map_data import MapError, geometry, map_data

router = APIRouter(tags=["dashboard"])

MEASURE_HELP = ("indicator:<code> (any indicator, e.g. indicator:tthc.on_time_rate) or "
                "score:<method> (e.g. score:dvc-766); default indicator:tthc.on_time_rate")
PERIOD_HELP = "2026-10 (month), 2026-Q3, 2026-H1, 2026, 2026-YTD, …; default: this month"


@router.get("/api/v1/map")
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


@router.get("/api/v1/map/shapes")
def map_shapes(rt: Rt) -> dict[str, Any]:
    """The communes' shapes: simplified boundaries as SVG path data in one viewBox
    (``layout: boundaries``), or tile positions (``layout: grid``) when no boundary files are
    configured; with the communes lacking a boundary file and the files matching no commune."""
    return geometry(rt).as_dict()
