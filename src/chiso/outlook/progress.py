"""The progress measure of Open SDG and Statistics Canada, as a second comparable measure.

In our own words: compare the growth a unit has actually achieved since the baseline with
the growth it would need to reach the target by the deadline, both as compound annual growth
rates, and take their ratio.

* actual growth   ``a = (current / baseline) ** (1 / years elapsed) - 1``
* required growth ``r = (target / baseline) ** (1 / years to the deadline from baseline) - 1``
* ratio ``a / r``: 1 means on the required path; above 1 ahead of it; 0 no change; below 0
  moving away from the target.

For a "lower is better" target both growths are negative when things go right; the ratio is
the same formula, so it keeps its meaning. Categories (Open SDG's defaults): target achieved
when the current value already meets the target; ratio ≥ 0.95 substantial progress (on
track); 0.5 ≤ ratio < 0.95 moderate progress; 0 ≤ ratio < 0.5 limited progress; ratio < 0
deterioration (moving away).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ProgressCategory(StrEnum):
    achieved = "target_achieved"
    substantial = "substantial_progress"
    moderate = "moderate_progress"
    limited = "limited_progress"
    deterioration = "deterioration"
    undetermined = "undetermined"


LABELS_VI = {
    ProgressCategory.achieved: "đã đạt chỉ tiêu",
    ProgressCategory.substantial: "tiến bộ đáng kể",
    ProgressCategory.moderate: "tiến bộ vừa phải",
    ProgressCategory.limited: "tiến bộ hạn chế",
    ProgressCategory.deterioration: "đi xuống",
    ProgressCategory.undetermined: "chưa xác định",
}

SUBSTANTIAL, MODERATE = 0.95, 0.5


@dataclass(frozen=True)
class Progress:
    ratio: float | None
    actual_growth: float | None
    required_growth: float | None
    category: ProgressCategory


def _years(a: date, b: date) -> float:
    return (b - a).days / 365.25


def progress_measure(baseline: float, baseline_at: date, current: float, current_at: date,
                     target: float, deadline: date, higher_is_better: bool = True) -> Progress:
    """The Open SDG / Statistics Canada progress ratio and its category."""
    met = current >= target if higher_is_better else current <= target
    if met:
        return Progress(None, None, None, ProgressCategory.achieved)
    elapsed, total = _years(baseline_at, current_at), _years(baseline_at, deadline)
    if baseline <= 0 or current <= 0 or target <= 0 or elapsed <= 0 or total <= 0:
        return Progress(None, None, None, ProgressCategory.undetermined)
    actual = (current / baseline) ** (1 / elapsed) - 1
    required = (target / baseline) ** (1 / total) - 1
    if required == 0:
        return Progress(None, actual, required, ProgressCategory.undetermined)
    ratio = actual / required
    if ratio >= SUBSTANTIAL:
        cat = ProgressCategory.substantial
    elif ratio >= MODERATE:
        cat = ProgressCategory.moderate
    elif ratio >= 0:
        cat = ProgressCategory.limited
    else:
        cat = ProgressCategory.deterioration
    return Progress(ratio, actual, required, cat)
