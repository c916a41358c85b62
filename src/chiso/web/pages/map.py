"""The commune map: values per commune coloured on the boundaries, or a tile grid
(docs/dashboard-map.md).

The page draws the same answer as ``/api/v1/map`` and ``/api/v1/map/shapes``
(``chiso.web.map_data``) as inline SVG: one link per
commune, usable by keyboard, with the same values in a table below.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chiso.context import Runtime
from chiso.dashboard import choropleth as cp
from chiso.web import i18n
from chiso.web.deps import Conn, Rt, Today
from chiso.web.map_data import MapError, default_period, geometry, map_data
from chiso.web.render import Locale, render

router = APIRouter(include_in_schema=False)


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


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, lang: Locale, rt: Rt, conn: Conn, today: Today,
             measure: str = "", period: str = "") -> HTMLResponse:
    i18n.current_locale.set(lang)
    measure = measure or cp.DEFAULT_MEASURE
    # Said on the page when the reader named no period and this month was too young to open on.
    earlier = None if period or default_period(today) == f"{today:%Y-%m}" else \
        default_period(today)
    period = period or default_period(today)
    indicators, scores = _options(rt)
    data: dict[str, Any] | None = None
    error: MapError | None = None
    try:
        data = map_data(rt, conn, today, measure, period)
    except MapError as exc:
        error = exc
    shapes = geometry(rt).as_dict()
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
                  error=None if error is None else error.message, shapes=shapes,
                  communes=communes, table=best_first, measure=measure, period=period,
                  earlier=earlier,
                  indicators=indicators, scores=scores,
                  economy=[{"value": f"grdp:{code}", "vi": vi, "en": en}
                           for code, (vi, en, _) in cp.GRDP_LAYERS.items()],
                  total=len(rt.catalog.units.communes()),
                  no_data=sum(1 for c in communes if c["value"] is None))
    if error is not None:
        page.status_code = error.status
    return page
