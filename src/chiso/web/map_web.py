"""The commune map: values per commune coloured on the boundaries, or a tile grid
(docs/dashboard-map.md).

The page calls the same functions as its API (``map_api``, ``map_shapes``), so it shows exactly
what ``/api/v1/map`` and ``/api/v1/map/shapes`` answer, drawn as inline SVG: one link per
commune, usable by keyboard, with the same values in a table below.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from chiso.context import Runtime
from chiso.dashboard import choropleth as cp
from chiso.dashboard import geo
from chiso.measurement import values as mv
from chiso.measurement.periods import PeriodError, opening_month
from chiso.web import format, i18n
from chiso.web.api import Conn, Today, keep, kept_answer, runtime
from chiso.web.render import Locale, render

router = APIRouter()

Rt = Annotated[Runtime, Depends(runtime)]
MEASURE_HELP = ("indicator:<code> (any indicator, e.g. indicator:tthc.on_time_rate) or "
                "score:<method> (e.g. score:dvc-766); default indicator:tthc.on_time_rate")
PERIOD_HELP = "2026-10 (month), 2026-Q3, 2026-H1, 2026, 2026-YTD, …; default: this month"


def _geometry(rt: Runtime) -> geo.Geometry:
    return geo.geometry(rt.settings.boundaries_dir, rt.catalog.units.communes())


def _default_period(today: date) -> str:
    return opening_month(today)


def map_api_data(rt: Runtime, conn: Connection, today: date, measure: str,
                 period: str) -> dict[str, Any]:
    """The answer of ``GET /api/v1/map``; raises HTTPException 422/404 with the reason."""
    try:
        got = cp.map_values(conn, rt.catalog, measure or cp.DEFAULT_MEASURE,
                            period or _default_period(today), today)
    except (cp.MeasureError, PeriodError) as exc:
        raise HTTPException(422, str(exc)) from exc
    except cp.UnknownMeasureError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    shapes = _geometry(rt)
    uom = got.unit_of_measure
    classes = [{"min": c.min, "max": c.max, "colour": c.colour, "text_colour": c.text_colour,
                "label": (format.measured(c.min, uom) if c.min == c.max else
                          f"{format.measured(c.min, uom)} – {format.measured(c.max, uom)}")}
               for c in got.classes]
    communes = []
    for row in got.communes:
        item: dict[str, Any] = {"code": row.code, "name": row.name, "value": row.value,
                                "class": row.klass, "text": format.measured(row.value, uom)}
        if got.kind == "indicator":
            item["records"] = row.records
        else:
            item["rank"] = row.rank
        communes.append(item)
    return {"measure": got.measure, "period": got.period, "name_vi": got.name_vi,
            "name_en": got.name_en, "unit_of_measure": uom, "direction": got.direction,
            "layout": shapes.layout, "classes": classes, "no_data_colour": cp.NO_DATA,
            "communes": communes, "missing_boundaries": list(shapes.missing_boundaries)}


_MAP_CACHE = "web.map"


def _mark(rt: Runtime, conn: Connection, measure: str) -> tuple[Any, ...] | None:
    """The indicator's state mark (``values.state_mark``); None (not kept) for scores and
    for a measure that is not a known indicator (its error is answered each time)."""
    kind, _, code = measure.partition(":")
    m = rt.catalog.measurement
    if kind != "indicator" or m is None or code not in m.indicators:
        return None
    return mv.state_mark(conn, m, code)


@router.get("/api/v1/map", tags=["dashboard"])
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
        return keep(rt, _MAP_CACHE, key, mark, generation, lambda: json.dumps(
            map_api_data(rt, conn, today, measure, period), ensure_ascii=False,
            separators=(",", ":")).encode())


@router.get("/api/v1/map/shapes", tags=["dashboard"])
def map_shapes(rt: Rt) -> dict[str, Any]:
    """The communes' shapes: simplified boundaries as SVG path data in one viewBox
    (``layout: boundaries``), or tile positions (``layout: grid``) when no boundary files are
    configured; with the communes lacking a boundary file and the files matching no commune."""
    return _geometry(rt).as_dict()


def _lines(label: str, width: int = 14) -> list[str]:
    """A tile's name on one line, or two split at the space nearest the middle."""
    if len(label) <= width or " " not in label:
        return [label]
    spaces = [i for i, ch in enumerate(label) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return [label[:cut].rstrip(" -"), label[cut + 1:]]


def _options(rt: Runtime) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    m = rt.catalog.measurement
    indicators = [{"value": f"indicator:{code}", "vi": m.indicators[code].name_vi,
                   "en": m.indicators[code].name_en}
                  for code in cp.commune_indicators(rt.catalog)] if m is not None else []
    methods = rt.catalog.methods
    scores = [{"value": f"score:{code}", "vi": methods.versions[code][-1].name_vi,
               "en": methods.versions[code][-1].name_en}
              for code in cp.commune_methods(rt.catalog)] if methods is not None else []
    return indicators, scores


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def map_page(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
             measure: str = "", period: str = "") -> HTMLResponse:
    i18n.current_locale.set(lang)
    measure = measure or cp.DEFAULT_MEASURE
    # Said on the page when the reader named no period and this month was too young to open on.
    earlier = None if period or _default_period(today) == f"{today:%Y-%m}" else \
        _default_period(today)
    period = period or _default_period(today)
    indicators, scores = _options(rt)
    data: dict[str, Any] | None = None
    error: HTTPException | None = None
    try:
        data = map_api_data(rt, conn, today, measure, period)
    except HTTPException as exc:
        error = exc
    shapes = map_shapes(rt)
    drawn = {c["code"]: c for c in shapes["communes"]}
    communes = []
    if data is not None:
        classes = data["classes"]
        for row in data["communes"]:
            klass = classes[row["class"]] if row["class"] is not None else None
            shape = drawn.get(row["code"])
            communes.append({**row, "shape": shape,
                             "lines": _lines(shape["label"]) if shape else [],
                             "fill": klass["colour"] if klass else "url(#map-nodata)",
                             "ink": klass["text_colour"] if klass else "#000000",
                             "class_label": klass["label"] if klass else None})
    # The table reads best first; communes without data last.
    sign = -1 if data is None or data["direction"] != "lower_is_better" else 1
    best_first = sorted(communes, key=lambda c: (c["value"] is None, sign * (c["value"] or 0),
                                                 c["name"]))
    page = render(request, lang, "map.html", data=data,
                  error=None if error is None else error.detail, shapes=shapes,
                  communes=communes, table=best_first, measure=measure, period=period,
                  earlier=earlier,
                  indicators=indicators, scores=scores, total=len(rt.catalog.units.communes()),
                  no_data=sum(1 for c in communes if c["value"] is None))
    if error is not None:
        page.status_code = error.status_code
    return page
