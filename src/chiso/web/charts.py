"""Small charts drawn on the server as SVG (no script needed): each is decorative or has its
numbers in a table beside it."""

from __future__ import annotations

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


GLOBALS = {"sparkline": sparkline}
