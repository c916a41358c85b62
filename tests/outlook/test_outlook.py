"""The warning engine on constructed series (docs/outlook.md)."""

from __future__ import annotations

from datetime import date

import pytest

from chiso.catalog.models import Direction, Milestone, Task
from chiso.outlook import (
    Evidence,
    Point,
    ProgressCategory,
    Status,
    TargetTerms,
    TaskWarningKind,
    assess,
    forecast,
    progress_measure,
    sentence,
    straight_line,
    task_warnings,
)

TERMS = TargetTerms(Direction.ge, 98, date(2026, 12, 31), date(2026, 1, 1))


def monthly(values: list[float | None]) -> list[Point]:
    return [Point(date(2026, m, 28), v) for m, v in enumerate(values, start=1) if v is not None]


def test_steady_climb_reaching_the_target_is_on_track() -> None:
    pts = monthly([87, 88.2, 89.1, 90.4, 91.3, 92.6, 93.5, 94.7, 95.8])
    a = assess(TERMS, pts, date(2026, 10, 5))
    assert a.forecast.method == "local_linear_trend"
    assert a.forecast.value is not None
    assert 96.5 < a.forecast.value <= 100
    assert a.forecast.low is not None
    assert a.forecast.high is not None
    assert a.forecast.low <= a.forecast.value <= a.forecast.high
    assert a.status in (Status.on_track, Status.at_risk)


def test_stalled_series_is_behind() -> None:
    pts = monthly([85, 86, 87, 88, 88.2, 87.9, 88.1, 88, 87.8])
    a = assess(TERMS, pts, date(2026, 10, 5))
    assert a.status is Status.behind
    assert a.probability is not None
    assert a.probability < 0.1
    assert a.status.flagged


def test_already_met_and_holding_is_met() -> None:
    pts = monthly([98.5, 98.7, 99, 98.8, 99.1, 99, 98.9, 99.2])
    assert assess(TERMS, pts, date(2026, 9, 5)).status is Status.met


def test_too_few_points_is_not_enough_data() -> None:
    a = assess(TERMS, monthly([80, 81]), date(2026, 3, 5))
    assert a.status is Status.no_data
    assert a.forecast.method == "last_value"


def test_stale_data_is_not_enough_data() -> None:
    # April's value is the latest, over 100 days old in August: too little to forecast from
    a = assess(TERMS, monthly([90, 91, 92, 93]), date(2026, 8, 20))
    assert a.status is Status.no_data


def test_stale_data_short_of_the_threshold_close_to_the_deadline_is_at_risk() -> None:
    # the same in October: too little time left for a trend to show, and what is known misses
    a = assess(TERMS, monthly([90, 91, 92, 93]), date(2026, 10, 1))
    assert a.status is Status.at_risk


def test_short_series_falls_back_to_a_line_with_an_interval() -> None:
    fc = forecast(monthly([90, 91, 92, 93]), TERMS, date(2026, 5, 5))
    assert fc.method == "ols_line"
    assert fc.value == pytest.approx(100, abs=0.01)  # 93 + 8 × 1, clipped at 100
    assert fc.se is not None
    assert fc.se > 0


def test_missing_months_and_tet_dip_do_not_derail_the_trend() -> None:
    # February 2026 holds Tết (17/02): a 9-point dip; April and July never reported.
    pts = monthly([90, 81, 91, None, 92, 92.5, None, 93.5, 94])
    fc = forecast(pts, TERMS, date(2026, 10, 5))
    assert fc.value is not None
    assert fc.value > 95


def test_after_the_deadline_the_last_value_decides() -> None:
    pts = monthly([90] * 11 + [97.0])
    assert assess(TERMS, pts, date(2027, 1, 10)).status is Status.behind


def test_lower_is_better_mirrors() -> None:
    terms = TargetTerms(Direction.le, 5, date(2026, 12, 31), date(2026, 1, 1))
    falling = monthly([14, 13, 12, 11, 10, 9, 8, 7, 6])
    flat = monthly([9, 9.1, 8.9, 9, 9.2, 9, 8.8, 9.1, 9])
    assert assess(terms, falling, date(2026, 10, 5)).status in (Status.on_track, Status.met)
    assert assess(terms, flat, date(2026, 10, 5)).status is Status.behind


def test_straight_line_baseline() -> None:
    pts = [Point(date(2026, 1, 31), 80), Point(date(2026, 7, 31), 86)]
    v = straight_line(pts, TERMS, date(2026, 8, 5))
    assert v == pytest.approx(86 + 6 / 181 * 153)


def test_progress_measure_on_known_numbers() -> None:
    # baseline 50 on 1/1/2024, 60 two years later; target 80 on 1/1/2028 (four years).
    p = progress_measure(50, date(2024, 1, 1), 60, date(2026, 1, 1), 80, date(2028, 1, 1))
    years_el, years_tot = 731 / 365.25, 1461 / 365.25
    actual = 1.2 ** (1 / years_el) - 1
    required = 1.6 ** (1 / years_tot) - 1
    assert p.actual_growth == pytest.approx(actual)
    assert p.required_growth == pytest.approx(required)
    assert p.ratio == pytest.approx(actual / required)
    assert p.ratio == pytest.approx(0.765, abs=1e-3)
    assert p.category is ProgressCategory.moderate
    assert progress_measure(50, date(2024, 1, 1), 45, date(2025, 1, 1), 80,
                            date(2028, 1, 1)).category is ProgressCategory.deterioration
    assert progress_measure(50, date(2024, 1, 1), 81, date(2025, 1, 1), 80,
                            date(2028, 1, 1)).category is ProgressCategory.achieved
    # lower is better: 10 -> 8 of a required 10 -> 5
    low = progress_measure(10, date(2024, 1, 1), 8, date(2025, 1, 1), 5, date(2026, 1, 1),
                           higher_is_better=False)
    assert low.ratio is not None
    assert low.ratio > 0


def test_sentence_in_vietnamese_and_english(monkeypatch: pytest.MonkeyPatch) -> None:
    pts = monthly([85, 86, 87, 88, 88.2, 87.9, 88.1, 88, 87.8])
    a = assess(TERMS, pts, date(2026, 10, 5))
    from chiso.outlook.forecast import Forecast

    fixed = Forecast(91.2, 89.0, 93.4, 1.7, "local_linear_trend", 9, 3)
    a = a.__class__(a.status, fixed, a.probability, a.latest, a.progress)
    assert sentence("Phường Hà Đông", TERMS, a) == (
        "Phường Hà Đông dự kiến đạt 91,2% vào 31/12/2026, thiếu 6,8 điểm so với chỉ tiêu 98%"
    )
    assert sentence("Hà Đông ward", TERMS, a, "en") == (
        "Hà Đông ward is forecast to reach 91.2% by 31 December 2026, "
        "6.8 points short of the 98% target"
    )
    big = TargetTerms(Direction.ge, 1500, date(2026, 12, 31), date(2026, 1, 1),
                      unit_of_measure="bộ dữ liệu")
    b = a.__class__(a.status, Forecast(1234.5, None, None, None, "ols_line", 4, 3),
                    a.probability, a.latest, a.progress)
    assert sentence("Sở KH&CN", big, b) == (
        "Sở KH&CN dự kiến đạt 1.234,5 bộ dữ liệu vào 31/12/2026, "
        "thiếu 265,5 bộ dữ liệu so với chỉ tiêu 1.500 bộ dữ liệu"
    )


def _task(tid: str, deadline: str, milestones: list[tuple[str, str]] | None = None) -> Task:
    return Task(lines="1", id=tid, section="body", group="g", title="Việc", deadline_text=deadline,
                milestones=[Milestone(lines="1", text=t, due_text=d) for t, d in milestones or []])


def test_task_warnings() -> None:
    tasks = [
        _task("1", "Quý I/2026"),  # overdue on 15/04
        _task("2", "tháng 5/2026"),  # due within 30 days, no evidence
        _task("3", "tháng 5/2026"),  # due soon but evidence attached
        _task("4", "Quý IV/2026", [("thí điểm", "tháng 3/2026"), ("mở rộng", "tháng 9/2026")]),
        _task("5", "Quý I/2026"),  # done
        _task("6", "Thường xuyên"),  # recurring: nothing to miss
    ]
    ev = [Evidence("3", date(2026, 4, 10)), Evidence("5", date(2026, 3, 20), completes=True)]
    out = {(w.task, w.kind) for w in task_warnings(tasks, ev, date(2026, 4, 15), 46)}
    assert out == {
        ("1", TaskWarningKind.overdue),
        ("2", TaskWarningKind.due_soon),
        ("4", TaskWarningKind.milestone_slipping),
    }


def test_the_sentence_of_a_thin_series_near_the_deadline_says_what_is_known() -> None:
    terms = TargetTerms(Direction.ge, 95.0, date(2026, 12, 31), date(2026, 1, 1))
    a = assess(terms, [Point(date(2026, 6, 30), 88.8), Point(date(2026, 8, 31), 85.1)],
               date(2026, 11, 5))
    assert a.status is Status.at_risk
    assert sentence("Phường Hà Đông", terms, a, "vi") == (
        "Phường Hà Đông chưa đủ dữ liệu để dự báo; số liệu gần nhất (31/08/2026) là 85,1%, "
        "còn thiếu 9,9 điểm so với chỉ tiêu 95% hạn 31/12/2026")
    assert "9.9 points short of the 95% target" in sentence("Ha Dong", terms, a, "en")


def test_a_rank_is_never_forecast_above_first_place() -> None:
    """A rank climbing fast toward "≤ 5" is not forecast at 0 or below: first is the best."""
    terms = TargetTerms(Direction.le, 5, date(2026, 12, 31), date(2026, 1, 1),
                        unit_of_measure="thứ hạng")
    climbing = monthly([30, 27, 24, 21, 18, 15, 12, 9, 6])
    a = assess(terms, climbing, date(2026, 10, 5))
    assert a.forecast.value is not None
    assert a.forecast.low is not None
    assert 1 <= a.forecast.low <= a.forecast.value
    assert terms.bounds[0] == 1
