"""The warning engine on the failure classes of the backtest's families (docs/outlook.md)."""

from __future__ import annotations

from datetime import date

import pytest

from chiso.catalog.models import Direction
from chiso.outlook import Point, Status, TargetTerms, assess, forecast

DEC = date(2026, 12, 31)
START = date(2026, 1, 1)


def monthly(values: list[float | None], year: int = 2026) -> list[Point]:
    return [Point(date(year, m, 28), v) for m, v in enumerate(values, start=1) if v is not None]


@pytest.mark.parametrize(("direction", "threshold", "value"),
                         [(Direction.ge, 100.0, 100.0), (Direction.le, 0.0, 0.0)])
def test_sitting_at_the_bound_all_year_is_met(direction: Direction, threshold: float,
                                              value: float) -> None:
    terms = TargetTerms(direction, threshold, DEC, START)
    a = assess(terms, monthly([value] * 9), date(2026, 10, 5))
    assert a.status is Status.met
    assert not a.status.flagged


def test_slipping_below_the_bound_is_flagged() -> None:
    terms = TargetTerms(Direction.ge, 100.0, DEC, START)
    a = assess(terms, monthly([100.0] * 8 + [98.5]), date(2026, 10, 5))
    assert a.status.flagged
    near = assess(terms, monthly([97, 97.5, 98, 98.2, 98.5, 98.8, 99, 99.1, 99.2]),
                  date(2026, 10, 5))
    assert near.status is Status.behind


def test_one_bad_month_does_not_drag_the_forecast() -> None:
    terms = TargetTerms(Direction.ge, 90.0, DEC, START)
    clean = [88, 88.5, 89, 89.5, 90, 90.5, 91, 91.5, 92]
    outage = [*clean[:5], 60, *clean[6:]]
    a, b = forecast(monthly(clean), terms, date(2026, 10, 5)), forecast(
        monthly(outage), terms, date(2026, 10, 5))
    assert a.value is not None
    assert b.value is not None
    assert abs(a.value - b.value) < 1.0
    assert not assess(terms, monthly(outage), date(2026, 10, 5)).status.flagged


def test_a_fall_in_the_latest_month_is_not_taken_for_an_outlier() -> None:
    terms = TargetTerms(Direction.ge, 90.0, DEC, START)
    pts = monthly([91, 91.5, 92, 92, 92.5, 92, 92.5, 93, 70])
    assert assess(terms, pts, date(2026, 10, 5)).status.flagged


def test_year_end_rush_seen_in_earlier_years_is_expected() -> None:
    terms = TargetTerms(Direction.ge, 90.0, DEC, START)
    year = [94.0, 94, 94, 94, 94, 94, 94, 94, 94, 94, 90, 86]
    history = [p for y in (2023, 2024, 2025) for p in monthly(year, y)]
    this_year = monthly([94.0, 94, 94.2, 93.8, 94, 94.1, 93.9, 94, 94])
    without = assess(terms, this_year, date(2026, 10, 5))
    assert not without.status.flagged
    a = assess(terms, history + this_year, date(2026, 10, 5))
    assert a.forecast.seasonal == pytest.approx(-8 + 1, abs=0.6)  # the dip, centred
    assert a.status.flagged


def test_small_counts_need_the_reachable_share() -> None:
    # 8 dossiers a month, 7 or 8 on time (≈ 92%): "≥ 90%" needs all 8 in December.
    terms = TargetTerms(Direction.ge, 90.0, DEC, START)
    ks = [7, 7, 8, 7, 7, 8, 7, 7, 8]
    shares = [Point(date(2026, m, 28), 100 * k / 8) for m, k in enumerate(ks, 1)]
    counts = [Point(date(2026, m, 28), 100 * k / 8, k, 8) for m, k in enumerate(ks, 1)]
    with_counts = assess(terms, counts, date(2026, 10, 5))
    assert with_counts.forecast.denominator == 8
    assert with_counts.probability is not None
    assert with_counts.probability < 0.7
    assert with_counts.status.flagged
    without = assess(terms, shares, date(2026, 10, 5))
    assert without.probability is not None
    assert without.probability > with_counts.probability


def test_late_reporter_with_history_is_assessed() -> None:
    terms = TargetTerms(Direction.ge, 90.0, DEC, START)
    pts = monthly([85, 85, 85.2, 84.9, 85, 85])  # June's value, 130 days old, is the latest
    a = assess(terms, pts, date(2026, 11, 5))
    assert a.status is not Status.no_data
    assert a.status.flagged


def test_early_deadline_with_a_tet_month_is_assessed() -> None:
    terms = TargetTerms(Direction.ge, 90.0, date(2026, 6, 30), START)
    a = assess(terms, monthly([80, 74, 81]), date(2026, 5, 5))
    assert a.status is not Status.no_data
    assert a.status.flagged


def test_small_counts_are_judged_by_their_counts() -> None:
    terms = TargetTerms(Direction.ge, 90.0, DEC, START)
    perfect = [Point(date(2026, m, 28), 100.0, 8, 8) for m in range(1, 10)]
    one_late = [Point(date(2026, m, 28), 87.5, 7, 8) for m in range(1, 10)]
    a, b = forecast(perfect, terms, date(2026, 10, 5)), forecast(one_late, terms,
                                                                 date(2026, 10, 5))
    assert a.method == b.method == "pooled_counts"
    assert a.probability is not None
    assert b.probability is not None
    assert a.probability > 0.7 > b.probability
    large = [Point(date(2026, m, 28), 95.0, 950, 1000) for m in range(1, 10)]
    assert forecast(large, terms, date(2026, 10, 5)).method == "local_linear_trend"


def test_a_noisy_last_month_does_not_make_the_target_look_reached() -> None:
    # climbing about 0.7 a month to 94–95% against "≥ 98%"; October reads 96.3 by chance
    terms = TargetTerms(Direction.ge, 98.0, DEC, START)
    pts = monthly([85.3, 89.9, 90.7, 89.2, 90.6, 91.4, 90.7, 92.1, 93.0, 96.3])
    a = assess(terms, pts, date(2026, 11, 5))
    assert a.forecast.value is not None
    assert a.forecast.value < 98.0
    assert a.status.flagged


def test_adoption_levelling_off_is_not_extended_past_its_ceiling() -> None:
    # a logistic climb to about 79.5%: the increments shrink month after month
    terms = TargetTerms(Direction.ge, 86.0, DEC, START)
    pts = monthly([7.5, 14.8, 26.1, 42.3, 56.1, 67.0, 74.0, 76.8, 78.7])
    a = assess(terms, pts, date(2026, 11, 5))
    assert a.forecast.value is not None
    assert a.forecast.value < 84.0
    assert a.status.flagged


def test_a_steady_climb_is_not_damped() -> None:
    # a straight climb of one point a month keeps its pace: no levelling off is invented
    terms = TargetTerms(Direction.ge, 90.0, DEC, START)
    pts = monthly([78.0 + m for m in range(10)])
    a = assess(terms, pts, date(2026, 11, 5))
    assert a.forecast.value == pytest.approx(89.0, abs=0.6)


def test_a_commune_improving_through_the_year_is_judged_by_the_trend_of_its_counts() -> None:
    # 8 dossiers a month, on time climbing from 4 to 7: December's rate is above the pooled
    # rate of the last six months (77%)
    terms = TargetTerms(Direction.ge, 75.0, DEC, START)
    ks = [4, 4, 5, 5, 5, 6, 6, 6, 7, 7]
    pts = [Point(date(2026, m, 28), 100 * k / 8, k, 8) for m, k in enumerate(ks, 1)]
    a = assess(terms, pts, date(2026, 11, 5))
    assert a.forecast.method == "pooled_counts"
    assert a.forecast.value is not None
    assert a.forecast.value > 81.0
    assert not a.status.flagged
    flat = [6, 7, 6, 6, 7, 6, 7, 6, 6, 7]  # no trend: the pooled rate stands
    b = assess(terms, [Point(date(2026, m, 28), 100 * k / 8, k, 8)
                       for m, k in enumerate(flat, 1)], date(2026, 11, 5))
    assert b.forecast.value == pytest.approx(100 * 38 / 48, abs=2.0)


def test_a_lull_the_latest_month_has_left_behind_is_not_a_ceiling() -> None:
    # a running count of 12 dossiers a month, a summer lull (July–August), back to pace in
    # September: three more months at that pace give about 120, not a levelling off near 100
    terms = TargetTerms(Direction.ge, 115.0, DEC, START, unit_of_measure="hồ sơ")
    pts = monthly([12, 24, 36, 48, 60, 72, 74, 75, 85])
    a = assess(terms, pts, date(2026, 10, 20))
    assert a.forecast.value is not None
    assert a.forecast.value > 105.0


def test_a_shares_slope_fades_but_a_running_counts_pace_does_not() -> None:
    # the same climb of two a month to 78 in October: as a share, the slope fades over the
    # two months left (damped trend); as a running count, the pace holds (82)
    values = monthly([60.0 + 2 * m for m in range(10)])
    share = TargetTerms(Direction.ge, 80.0, DEC, START)
    count = TargetTerms(Direction.ge, 80.0, DEC, START, unit_of_measure="hồ sơ")
    s = forecast(values, share, date(2026, 11, 5))
    c = forecast(values, count, date(2026, 11, 5))
    assert s.value is not None
    assert c.value is not None
    assert c.value == pytest.approx(82.0, abs=0.3)
    assert 80.6 < s.value < 81.6


def test_a_running_counts_slower_months_are_not_a_ceiling() -> None:
    # forty dossiers a month, a slower summer (twenty in July and August), back to 26 in
    # September: a running count has no ceiling to level off towards, so the three months
    # left add at least the slowest pace seen (3 × 20), not a pace that fades to nothing
    terms = TargetTerms(Direction.ge, 380.0, DEC, START, unit_of_measure="hồ sơ")
    pts = monthly([5, 45, 85, 125, 165, 205, 225, 245, 271])
    fc = forecast(pts, terms, date(2026, 10, 5))
    assert fc.value is not None
    assert fc.value > 271 + 3 * 20


@pytest.mark.parametrize(("today", "values", "status"), [
    # two reports, both well short, eight weeks before the deadline: at risk
    (date(2026, 11, 5), [None] * 5 + [88.8, None, 85.1], Status.at_risk),
    # the same two reports in May: too early to say
    (date(2026, 5, 5), [None, 88.8, None, 85.1], Status.no_data),
    # two reports that meet it, near the deadline: nothing to warn of, too little to say more
    (date(2026, 11, 5), [None] * 5 + [96.0, None, 97.0], Status.no_data),
])
def test_too_few_reports_close_to_the_deadline_warn_when_they_miss(
        today: date, values: list[float | None], status: Status) -> None:
    terms = TargetTerms(Direction.ge, 95.0, DEC, START)
    assert assess(terms, monthly(values), today).status is status


def test_a_tet_dip_in_a_quarters_three_months_does_not_raise_a_flag() -> None:
    # January and March at 88, February's Tết dip at 82, against 85 by 30 June: the holiday
    # month is left out even though two months remain, and the unit stays on track
    terms = TargetTerms(Direction.ge, 85.0, date(2026, 6, 30), START)
    a = assess(terms, monthly([88.3, 82.0, 88.3]), date(2026, 5, 5))
    assert not a.status.flagged
    assert a.forecast.value == pytest.approx(88.3)
