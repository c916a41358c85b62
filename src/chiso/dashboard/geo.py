"""The communes' shapes for the map: simplified boundary polygons as SVG paths, or a tile grid.

The boundary files are third-party data (``CHISO_BOUNDARIES_DIR``: ``wards/<code>_<name>.geojson``,
one MultiPolygon per commune in WGS84, and ``01_ha_noi.geojson``, the city outline). They are
read at run time, never committed: once per process and folder, then kept. Without the folder
the communes are laid out as a grid of equal tiles in the official order (communes.csv, grouped
by former district), so the map still shows every commune's value.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import shapely  # type: ignore[import-untyped]
from shapely.geometry import shape as geojson_shape  # type: ignore[import-untyped]

from chiso.units.models import Unit

log = logging.getLogger(__name__)

Layout = Literal["boundaries", "grid"]

# The longer side of the drawing, in viewBox units. Coordinates keep one decimal, so a
# boundary is placed to 1/10,000 of the map: finer than any screen shows it.
SIZE = 1000.0
PAD = 10.0
# Douglas-Peucker tolerance in viewBox units (about 40 m on the ground for Hanoi): small
# enough that neighbouring communes, simplified one by one, show no visible gap or overlap.
TOLERANCE = 0.6
CITY_FILE = "01_ha_noi.geojson"
WARD_FILE = re.compile(r"^(\d{5})(?:_.*)?\.geojson$")

# The tile grid: a fixed number of tiles a row, in the official order.
GRID_COLUMNS = 10
TILE_W, TILE_H, GAP = 80.0, 44.0, 4.0


@dataclass(frozen=True)
class CommuneShape:
    code: str
    name: str
    label: str  # the short name a tile shows ("Hoàn Kiếm" for "Phường Hoàn Kiếm")
    d: str | None = None  # boundaries: the SVG path
    x: float | None = None  # grid: the tile's box
    y: float | None = None
    width: float | None = None
    height: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name, "label": self.label}
        if self.d is not None:
            out["d"] = self.d
        else:
            out.update(x=self.x, y=self.y, width=self.width, height=self.height)
        return out


@dataclass(frozen=True)
class Geometry:
    layout: Layout
    width: float
    height: float
    communes: tuple[CommuneShape, ...]  # in the official order
    outline: str | None = None  # the city's outline path (boundaries, when the file is there)
    missing_boundaries: tuple[str, ...] = ()  # commune codes with no boundary file
    unmatched_files: tuple[str, ...] = ()  # boundary files naming no commune of the catalog
    problems: tuple[str, ...] = field(default=())  # said to the operator: log and API

    @property
    def view_box(self) -> str:
        return f"0 0 {_num(self.width)} {_num(self.height)}"

    def as_dict(self) -> dict[str, Any]:
        return {"layout": self.layout, "view_box": self.view_box,
                "width": self.width, "height": self.height, "outline": self.outline,
                "communes": [c.as_dict() for c in self.communes],
                "missing_boundaries": list(self.missing_boundaries),
                "unmatched_files": list(self.unmatched_files), "problems": list(self.problems)}


def short_name(name: str) -> str:
    """'Phường Hoàn Kiếm' -> 'Hoàn Kiếm', 'Xã Sóc Sơn' -> 'Sóc Sơn'."""
    for prefix in ("Phường ", "Xã ", "Thị trấn "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _num(v: float) -> str:
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


def grid(communes: Sequence[Unit]) -> Geometry:
    """Equal tiles in rows of ``GRID_COLUMNS``, in the order given (the official list)."""
    tiles = []
    for i, u in enumerate(communes):
        row, col = divmod(i, GRID_COLUMNS)
        tiles.append(CommuneShape(u.code, u.name, short_name(u.name),
                                  x=col * (TILE_W + GAP), y=row * (TILE_H + GAP),
                                  width=TILE_W, height=TILE_H))
    rows = max(1, math.ceil(len(communes) / GRID_COLUMNS))
    return Geometry("grid", GRID_COLUMNS * (TILE_W + GAP) - GAP, rows * (TILE_H + GAP) - GAP,
                    tuple(tiles))


def _read_geometry(path: Path) -> Any:
    """The union of a GeoJSON file's features (a FeatureCollection, a Feature or a geometry)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        parts = [geojson_shape(f["geometry"]) for f in data["features"] if f.get("geometry")]
    elif data.get("type") == "Feature":
        parts = [geojson_shape(data["geometry"])]
    else:
        parts = [geojson_shape(data)]
    if not parts:
        raise ValueError("no geometry")
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _path(geom: Any) -> str:
    """An SVG path: absolute start of each ring, then relative steps in tenths (short text)."""
    out: list[str] = []
    polygons = getattr(geom, "geoms", [geom])
    for poly in polygons:
        if poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            pts = [(round(x * 10), round(y * 10)) for x, y in ring.coords[:-1]]
            if len(pts) < 3:
                continue
            x0, y0 = pts[0]
            steps: list[str] = []
            for (ax, ay), (bx, by) in pairwise(pts):
                if (ax, ay) != (bx, by):
                    steps += [_tenths(bx - ax), _tenths(by - ay)]
            # A minus sign separates two numbers by itself; otherwise a space is needed.
            joined = "".join(n if n.startswith("-") else " " + n for n in steps).lstrip()
            out.append(f"M{_tenths(x0)} {_tenths(y0)}l{joined}z")
    return "".join(out)


def _tenths(v: int) -> str:
    sign = "-" if v < 0 else ""
    whole, frac = divmod(abs(v), 10)
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


class _Projection:
    """Equirectangular with the latitude's cosine: at the scale of a city, distances and
    shapes are true to within a fraction of a percent, and no projection library is needed."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        west, south, east, north = bounds
        self.west, self.north = west, north
        self.k = math.cos(math.radians((south + north) / 2))
        span = max((east - west) * self.k, north - south)
        self.scale = (SIZE - 2 * PAD) / span
        self.width = (east - west) * self.k * self.scale + 2 * PAD
        self.height = (north - south) * self.scale + 2 * PAD

    def __call__(self, geom: Any) -> Any:
        def xy(coords: Any) -> Any:
            out = coords.copy()
            out[:, 0] = (coords[:, 0] - self.west) * self.k * self.scale + PAD
            out[:, 1] = (self.north - coords[:, 1]) * self.scale + PAD
            return out

        return shapely.transform(geom, xy)


def _simplified(geom: Any) -> Any:
    simple = shapely.simplify(geom, TOLERANCE, preserve_topology=True)
    # A commune smaller than the tolerance must not vanish: keep it as drawn.
    return simple if not simple.is_empty else geom


def boundaries(folder: Path, communes: Sequence[Unit]) -> Geometry:
    """Simplified commune polygons from the boundary folder, matched to the catalog's communes
    by the five-digit code that starts each file's name."""
    wards = folder / "wards"
    files = sorted(wards.glob("*.geojson")) if wards.is_dir() else []
    by_code = {u.code: u for u in communes}
    read: dict[str, Any] = {}
    unmatched: list[str] = []
    problems: list[str] = []
    for f in files:
        m = WARD_FILE.match(f.name)
        if m is None or m.group(1) not in by_code:
            unmatched.append(f.name)
            continue
        try:
            read[m.group(1)] = _read_geometry(f)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{f.name}: unreadable ({exc})")
    city = None
    if (folder / CITY_FILE).is_file():
        try:
            city = _read_geometry(folder / CITY_FILE)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{CITY_FILE}: unreadable ({exc})")
    missing = [u.code for u in communes if u.code not in read]
    if not read:
        problems.append(f"no commune boundary file matched in {wards}: the tile grid is shown")
        base = grid(communes)
        return Geometry("grid", base.width, base.height, base.communes,
                        missing_boundaries=tuple(missing), unmatched_files=tuple(unmatched),
                        problems=tuple(problems))
    if missing:
        problems.append(f"{len(missing)} commune(s) have no boundary file: {', '.join(missing)}")
    if unmatched:
        problems.append(f"{len(unmatched)} boundary file(s) name no commune of the catalog: "
                        f"{', '.join(unmatched)}")
    everything = list(read.values()) + ([city] if city is not None else [])
    project = _Projection(tuple(shapely.total_bounds(everything)))
    shapes = tuple(CommuneShape(u.code, u.name, short_name(u.name),
                                d=_path(_simplified(project(read[u.code]))))
                   for u in communes if u.code in read)
    outline = _path(_simplified(project(city))) if city is not None else None
    return Geometry("boundaries", round(project.width, 1), round(project.height, 1), shapes,
                    outline, tuple(missing), tuple(unmatched), tuple(problems))


_cache: dict[tuple[str, tuple[str, ...]], Geometry] = {}
_lock = threading.Lock()


def geometry(folder: Path | None, communes: Iterable[Unit]) -> Geometry:
    """The map's geometry: boundaries from ``folder`` (read once per process and folder), or
    the tile grid when no folder is configured or it holds no usable file."""
    units = list(communes)
    if folder is None:
        return grid(units)
    key = (str(folder.resolve()), tuple(u.code for u in units))
    with _lock:  # the first requests arrive together; read the files once
        found = _cache.get(key)
        if found is None:
            if not folder.is_dir():
                base = grid(units)
                found = Geometry("grid", base.width, base.height, base.communes,
                                 missing_boundaries=tuple(u.code for u in units),
                                 problems=(f"boundaries folder {folder} not found: "
                                           "the tile grid is shown",))
            else:
                found = boundaries(folder, units)
            for problem in found.problems:
                log.warning("commune map: %s", problem)
            _cache[key] = found
    return found
