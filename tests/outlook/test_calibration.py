"""The forecast interval of a share says what it means: its 80% interval holds the deadline's
value about 80% of the time on series drawn from a known process (docs/outlook.md,
"Calibration"). Narrower intervals would make the backtest's flags look better (its
generators draw the deadline's month with less noise than the others) and be wrong here."""

from __future__ import annotations

import random
from datetime import date

from chiso.catalog.models import Direction
from chiso.outlook import Point, TargetTerms, forecast

TERMS = TargetTerms(Direction.ge, 90.0, date(2026, 12, 31), date(2026, 1, 1))


def test_a_shares_80_percent_interval_holds_about_80_percent_of_outcomes() -> None:
    rng = random.Random(20261205)
    inside = total = 0
    for _ in range(120):
        start, slope, noise = rng.uniform(60, 80), rng.uniform(-0.5, 1.5), rng.uniform(0.5, 2.5)
        values = [start + slope * m + rng.gauss(0, noise) for m in range(12)]
        pts = [Point(date(2026, m + 1, 28), v) for m, v in enumerate(values[:9])]
        fc = forecast(pts, TERMS, date(2026, 10, 5))
        assert fc.low is not None
        assert fc.high is not None
        inside += fc.low <= values[11] <= fc.high
        total += 1
    assert 0.70 <= inside / total <= 0.92, inside / total
