"""A running count forecast by its monthly flows (docs/outlook.md, "Running counts").

A running count (data sets published so far, dossiers received since January) only grows: its
level is the sum of the months' flows, known exactly, and what is uncertain is the flow of the
months still to come. So the forecast is the latest level plus the months left times the
*pace*: the median of the recent months' flows (a flow over a hole in the reports is spread
evenly over its months). A median is not pulled down by a summer slowdown or one slow month,
as a line through the levels is. The flows of the Tết month are left out: offices close, and
that month says nothing about the pace of the next.

The standard error adds the spread of the months to come (each month's flow varies as the
recent flows did, ``1.4826 × MAD``) and the uncertainty of the pace itself (the median of
``n`` flows: ``π/2`` times the variance of their mean).
"""

from __future__ import annotations

import math

import numpy as np

from chiso.outlook.robust import MAD_TO_SD
from chiso.outlook.series import tet_months

RECENT_FLOWS = 6  # the pace is the median of this many recent monthly flows
MIN_FLOWS = 3


def is_running(grid: list[float]) -> bool:
    """Whether the known months never fall: a running count (a level that may fall, such as
    a monthly number or a stock, is not forecast by its flows)."""
    known = [v for v in grid if not math.isnan(v)]
    return len(known) >= 2 and all(b >= a for a, b in zip(known, known[1:], strict=False))


def monthly_flows(grid: list[float], first: int) -> list[float]:
    """The flow of each month after the first known one, a flow across missing months spread
    evenly over them; the Tết months' flows left out. ``first`` is the grid's first month as
    ``series.month_index``."""
    known = [(i, v) for i, v in enumerate(grid) if not math.isnan(v)]
    out: list[float] = []
    for (i, a), (j, b) in zip(known, known[1:], strict=False):
        for m in range(i + 1, j + 1):
            year, month = divmod(first + m, 12)
            if (year, month + 1) not in tet_months(year):
                out.append((b - a) / (j - i))
    return out


def flows_forecast(grid: list[float], first: int, target_i: int) -> tuple[float, float] | None:
    """The level at grid month ``target_i`` and its standard error, from the latest level and
    the pace of the recent flows; None when fewer than ``MIN_FLOWS`` flows are known."""
    flows = monthly_flows(grid, first)[-RECENT_FLOWS:]
    if len(flows) < MIN_FLOWS:
        return None
    last_i, level = max((i, v) for i, v in enumerate(grid) if not math.isnan(v))
    horizon = max(target_i - last_i, 0)
    pace = float(np.median(flows))
    spread = MAD_TO_SD * float(np.median(np.abs(np.array(flows) - pace)))
    spread = max(spread, float(np.std(flows)) / 2, 1e-6)
    var = horizon * spread ** 2 + horizon ** 2 * (math.pi / 2) * spread ** 2 / len(flows)
    return level + horizon * pace, max(math.sqrt(var), 1e-6)
