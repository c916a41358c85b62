"""The commune map's answer, in the reader's language: what ``/api/v1/map`` serves and the map
page draws (docs/dashboard-map.md). Both doors call :func:`map_data` and :func:`geometry`."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from chiso.context import Runtime
from chiso.dashboard import choropleth as cp
from chiso.dashboard import geo
from chiso.measurement.periods import PeriodError, opening_month
from chiso.web import format


class MapError(Exception):
    """A map that cannot be drawn: ``status`` 404 (unknown measure) or 422 (bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def geometry(rt: Runtime) -> geo.Geometry:
    return geo.geometry(rt.settings.boundaries_dir, rt.catalog.units.communes())


def default_period(today: date) -> str:
    return opening_month(today)


def map_data(rt: Runtime, conn: Connection, today: date, measure: str,
                 period: str) -> dict[str, Any]:
    """Every commune's value of ``measure`` for ``period``, sorted into classes with their
    colours and labels; :class:`MapError` says why not."""
    try:
        got = cp.map_values(conn, rt.catalog, measure or cp.DEFAULT_MEASURE,
                            period or default_period(today), today)
    except (cp.MeasureError, PeriodError) as exc:
        raise MapError(422, str(exc)) from exc
    except cp.UnknownMeasureError as exc:
        raise MapError(404, str(exc.args[0])) from exc
    shapes = geometry(rt)
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
        elif got.kind == "score":
            item["rank"] = row.rank
        communes.append(item)
    return {"measure": got.measure, "period": got.period, "name_vi": got.name_vi,
            "name_en": got.name_en, "unit_of_measure": uom, "direction": got.direction,
            "layout": shapes.layout, "classes": classes, "no_data_colour": cp.NO_DATA,
            "communes": communes, "missing_boundaries": list(shapes.missing_boundaries)}


