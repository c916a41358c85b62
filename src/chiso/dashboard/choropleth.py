"""Values for the commune map: any indicator or any scoring method's scores, per commune,
or the commune's economy as the statistics office publishes it (``grdp:value``, GRDP at
current prices; ``grdp:growth``, growth at comparable prices against a year earlier), sorted
into at most five classes coloured from a colour-blind-safe sequential palette.

A GRDP layer shows the GRDP period the map's period names: a quarter itself, the first half
as the cumulative 6 months, a year as the 12 months; any other period (a month, the year to
date) the latest quarter published that has ended by its last day.

Darker always means better: for a ``lower_is_better`` indicator the palette runs the other way.
Classes are quantiles of the communes that have a value (each holds about a fifth of them), so
a skewed indicator still spreads over the palette; ties never straddle two classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from chiso.catalog.loader import Catalog
from chiso.catalog.methods import Node
from chiso.measurement import grdp
from chiso.measurement import values as mv
from chiso.measurement.periods import Period, parse_period
from chiso.scoring import live as scoring

CLASSES = 5
# ColorBrewer YlGnBu, five classes: safe for the three common colour-vision deficiencies and
# in greyscale print (lightness rises monotonically).
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NO_DATA = "#d9d9d9"
DEFAULT_MEASURE = "indicator:tthc.on_time_rate"


GRDP_LAYERS = {
    "value": ("GRDP của xã, phường (giá hiện hành)", "Commune GRDP (current prices)", "tỷ đồng"),
    "growth": ("Tăng trưởng GRDP so với cùng kỳ (giá so sánh)",
               "GRDP growth on a year earlier (comparable prices)", "%"),
}


class MeasureError(ValueError):
    """A measure that is not written ``indicator:<code>``, ``score:<method>`` or
    ``grdp:value|growth`` (422)."""


class UnknownMeasureError(KeyError):
    """No such indicator or scoring method in the catalog (404)."""


@dataclass(frozen=True)
class MapClass:
    index: int  # 0: the worst values … 4: the best
    min: float
    max: float
    colour: str
    text_colour: str  # black or white, whichever reads better on the colour


@dataclass
class CommuneValue:
    code: str
    name: str
    value: float | None
    klass: int | None = None
    records: int | None = None  # indicators: records behind the value
    rank: int | None = None  # scores: the commune's rank


@dataclass
class MapValues:
    measure: str
    kind: str  # "indicator" or "score"
    code: str
    period: str
    name_vi: str
    name_en: str
    unit_of_measure: str
    direction: str
    classes: list[MapClass]
    communes: list[CommuneValue]  # the official order


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def text_colour(background: str) -> str:
    """Black or white text, whichever has the higher WCAG contrast on ``background``."""
    lum = _luminance(background)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def classify(values: list[float], direction: str) -> tuple[list[MapClass], dict[float, int]]:
    """Quantile classes of ``values`` (at most five; fewer when fewer distinct values) and the
    class of each value. Class 0 holds the worst values, the last class the best."""
    ordered = sorted(values)
    if not ordered:
        return [], {}
    n = len(ordered)
    k = min(CLASSES, len(set(ordered)))
    uppers = sorted({ordered[math.ceil(i * n / k) - 1] for i in range(1, k)} | {ordered[-1]})
    members: list[list[float]] = [[] for _ in uppers]
    of: dict[float, int] = {}
    for v in ordered:
        j = next(i for i, u in enumerate(uppers) if v <= u)
        members[j].append(v)
        of[v] = j
    # Ascending classes run from low to high values; "worst first" flips them when lower is
    # better. The palette is spread over however many classes there are.
    lower_better = direction == "lower_is_better"
    count = len(members)
    picks = [round(i * (CLASSES - 1) / (count - 1)) if count > 1 else CLASSES - 1
             for i in range(count)]
    classes = []
    for i, vals in enumerate(members):
        rank = count - 1 - i if lower_better else i
        colour = PALETTE[picks[rank]]
        classes.append(MapClass(rank, vals[0], vals[-1], colour, text_colour(colour)))
    remap = {i: c.index for i, c in enumerate(classes)}
    classes.sort(key=lambda c: c.index)
    return classes, {v: remap[j] for v, j in of.items()}


def commune_indicators(catalog: Catalog) -> list[str]:
    """Indicators that can have a value per commune: their feed carries communes and their
    figure is summed over units (not one published for the city alone)."""
    m = catalog.measurement
    if m is None:
        return []
    return [i.code for i in m.indicators.values()
            if "commune" in catalog.contract(i.feed).expect.unit_kinds
            and i.rollup != "city_published"]


def commune_methods(catalog: Catalog) -> list[str]:
    """Scoring methods with a tree for communes."""
    if catalog.methods is None:
        return []
    return [code for code, versions in catalog.methods.versions.items()
            if any("commune" in v.kinds for v in versions)]


def parse_measure(measure: str) -> tuple[str, str]:
    kind, sep, code = measure.partition(":")
    if not sep or kind not in ("indicator", "score", "grdp") or not code:
        raise MeasureError(f"measure {measure!r}: write indicator:<code> (for example "
                           f"{DEFAULT_MEASURE}), score:<method> (for example score:dvc-766) "
                           "or grdp:value / grdp:growth")
    return kind, code


def grdp_period(conn: Connection, p: Period) -> str | None:
    """The GRDP period a map period shows (see the module); None when none is published."""
    if p.kind in ("quarter", "cumulative"):
        return p.label
    if p.kind == "half" and p.start.month == 1:
        return f"{p.start.year}-6T"
    if p.kind == "year":
        return f"{p.start.year}-12T"
    return grdp.latest_quarter(conn, p.end)


def _leaf_count(nodes: list[Node]) -> int:
    return sum(_leaf_count(n.children) if n.is_group else 1 for n in nodes)


def map_values(conn: Connection, catalog: Catalog, measure: str, period: str,
               today: date) -> MapValues:
    """Every commune's value of ``measure`` for ``period``, classified. Raises MeasureError,
    UnknownMeasureError, or the period's PeriodError."""
    kind, code = parse_measure(measure)
    communes = catalog.units.communes()
    p = parse_period(period, today)
    got: dict[str, CommuneValue] = {}
    if kind == "indicator":
        m = catalog.measurement
        ind = m.indicators.get(code) if m is not None else None
        if m is None or ind is None:
            raise UnknownMeasureError(f"no indicator {code!r}")
        for v in mv.values(conn, m, code, p.label, level="units",
                           members=[u.code for u in communes], today=today):
            if v.unit is not None:
                got[v.unit] = CommuneValue(v.unit, "", v.value, records=v.records)
        name_vi, name_en = ind.name_vi, ind.name_en
        unit_of_measure, direction = ind.unit_of_measure, ind.direction
    elif kind == "grdp":
        if code not in GRDP_LAYERS:
            raise UnknownMeasureError(f"no GRDP layer {code!r}: grdp:value or grdp:growth")
        shown = grdp_period(conn, p)
        figures = ({} if shown is None else grdp.figures(conn, shown) if code == "value"
                   else grdp.growths(conn, shown))
        for unit, value in figures.items():
            got[unit] = CommuneValue(unit, "", value)
        name_vi, name_en, unit_of_measure = GRDP_LAYERS[code]
        if shown is not None:
            name_vi, name_en = f"{name_vi}, kỳ {shown}", f"{name_en}, period {shown}"
        direction = "higher_is_better"
    else:
        try:
            method = scoring.method_for(catalog, code, p, today)
            ranked: dict[str, Any] = scoring.ranking(conn, catalog, code, "commune", p.label,
                                                     today)
        except KeyError as exc:
            raise UnknownMeasureError(str(exc.args[0])) from exc
        # A commune none of whose criteria has data has no score to show, only a zero.
        leaves = _leaf_count(method.kinds.get("commune", []))
        for row in ranked["units"]:
            empty = leaves and row["missing"] >= leaves
            got[row["unit"]] = CommuneValue(row["unit"], "", None if empty else row["points"],
                                            rank=None if empty else row["rank"])
        name_vi, name_en = method.name_vi, method.name_en
        unit_of_measure, direction = "điểm", "higher_is_better"
    rows = []
    for u in communes:
        row = got.get(u.code) or CommuneValue(u.code, "", None)
        row.name = u.name
        rows.append(row)
    classes, of = classify([r.value for r in rows if r.value is not None], direction)
    for r in rows:
        r.klass = of[r.value] if r.value is not None else None
    return MapValues(f"{kind}:{code}", kind, code, p.label, name_vi, name_en, unit_of_measure,
                     direction, classes, rows)
