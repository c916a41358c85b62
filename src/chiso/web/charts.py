"""Charts: small ones drawn on the server as SVG (no script needed), and the data of the
larger ones the browser draws with uPlot (``static/vendor/uplot``, served by the app; drawn by
``static/charts.js``). Each is decorative or has its numbers in a table or sentence beside
it."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from markupsafe import Markup


def sparkline(points: list[dict[str, Any]], width: int = 120, height: int = 32) -> Markup:
    """A small line of the monthly values; decorative (the text beside it says the same)."""
    vals = [float(p["value"]) for p in points if p.get("value") is not None]
    if len(vals) < 2:
        return Markup("")
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = width / (len(vals) - 1)
    xy = " ".join(f"{i * step:.1f},{height - 3 - (v - lo) / span * (height - 6):.1f}"
                  for i, v in enumerate(vals))
    return Markup(f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" '
                  f'height="{height}" aria-hidden="true" focusable="false">'
                  f'<polyline points="{xy}" fill="none" stroke="currentColor" '
                  f'stroke-width="2"/></svg>')


def _instant(day: date) -> int:
    """Seconds since 1970 at the start of ``day`` (uPlot's x axis)."""
    return (day - date(1970, 1, 1)).days * 86_400


def trend(series: list[dict[str, Any]], threshold: float | None, deadline: date | None,
          forecast: dict[str, Any] | None) -> dict[str, Any] | None:
    """A target's trend for ``charts.js``: the monthly values (``month``, ``at``, ``value``),
    the target as a level line, and the forecast from the last value to the deadline with its
    interval (``value``, ``low``, ``high``). None with fewer than two values."""
    points = [(p["at"], float(p["value"])) for p in series if p.get("value") is not None]
    if len(points) < 2:
        return None
    xs = [_instant(at) for at, _ in points]
    values: list[float | None] = [v for _, v in points]
    ahead: list[float | None] = [None] * len(points)
    low: list[float | None] = [None] * len(points)
    high: list[float | None] = [None] * len(points)
    ahead[-1] = low[-1] = high[-1] = values[-1]  # the forecast starts where the data ends
    f = forecast or {}
    if deadline is not None and f.get("value") is not None and _instant(deadline) > xs[-1]:
        xs.append(_instant(deadline))
        values.append(None)
        ahead.append(float(f["value"]))
        low.append(float(f["low"]) if f.get("low") is not None else None)
        high.append(float(f["high"]) if f.get("high") is not None else None)
    return {"kind": "trend", "x": xs, "value": values, "forecast": ahead, "low": low,
            "high": high, "target": threshold}


def distribution(values: list[float], bins: int = 10) -> dict[str, Any] | None:
    """How many units fall in each of ``bins`` equal ranges of ``values``, for ``charts.js``;
    None with fewer than two values."""
    if len(values) < 2:
        return None
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1.0
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, math.floor((v - lo) / width))] += 1
    edges = [lo + i * width for i in range(bins + 1)]
    return {"kind": "distribution", "x": [round((edges[i] + edges[i + 1]) / 2, 6)
                                          for i in range(bins)],
            "count": counts, "edges": [round(e, 6) for e in edges], "n": len(values)}


GLOBALS = {"sparkline": sparkline}
