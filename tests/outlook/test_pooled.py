"""A ratio judged over its year to date: the outlook forecasts the share of the window's
records, which is what the target is measured on, not the deadline month's share
(docs/outlook.md, "Judged over the window")."""

from __future__ import annotations

import calendar
from datetime import date

from chiso.catalog.models import Direction
from chiso.outlook import Point, Status, TargetTerms, assess
from chiso.outlook.pooled import records_to_come, share_so_far

DEC = date(2026, 12, 31)
START = date(2026, 1, 1)
CUTOFF = date(2026, 11, 5)  # eight weeks before the deadline


def counted(rates: list[float], records: int | list[int]) -> list[Point]:
    """Month-end points of ``rates`` (percent) out of ``records`` a month."""
    sizes = records if isinstance(records, list) else [records] * len(rates)
    out = []
    for m, (rate, n) in enumerate(zip(rates, sizes, strict=True), start=1):
        k = round(rate * n / 100)
        out.append(Point(date(2026, m, calendar.monthrange(2026, m)[1]), 100 * k / n, k, n))
    return out


def test_a_climb_that_ends_above_the_threshold_but_leaves_the_year_short_is_flagged() -> None:
    # a city's online share climbs from 60% to 87% by October: December's month will be
    # above 80%, but the year's share of dossiers, which the target is judged on, will not
    rates = [60, 63, 66, 69, 72, 75, 78, 81, 84, 87]
    points = counted(rates, 2000)
    month = assess(TargetTerms(Direction.ge, 80.0, DEC, START), points, CUTOFF)
    year = assess(TargetTerms(Direction.ge, 80.0, DEC, START, pooled=True), points, CUTOFF)
    assert not month.status.flagged
    assert year.status is Status.behind
    assert year.forecast.pooled
    assert year.forecast.value is not None
    assert 74 < year.forecast.value < 78  # ten months known, two to come near 88%


def test_a_commune_whose_last_months_slip_but_whose_year_holds_is_not_flagged() -> None:
    # 95% of its dossiers on time for eight months, then two months at 87.5%: the year's
    # share (93.5% so far) falls under 90% only if November and December fall under 72.5%
    rates = [95.0] * 8 + [87.5, 87.5]
    points = counted(rates, 40)
    month = assess(TargetTerms(Direction.ge, 90.0, DEC, START), points, CUTOFF)
    year = assess(TargetTerms(Direction.ge, 90.0, DEC, START, pooled=True), points, CUTOFF)
    assert month.status.flagged
    assert not year.status.flagged
    assert year.probability is not None
    assert year.probability > 0.9


def test_small_counts_are_judged_on_the_year_exactly() -> None:
    # 12 records a month: the year's share is k of about 144, and the forecast's
    # probability comes from the count still to come (beta-binomial), not a normal curve
    rates = [75.0, 83.3, 83.3, 91.7, 83.3, 75.0, 91.7, 83.3, 83.3, 91.7]
    points = counted(rates, 12)
    year = assess(TargetTerms(Direction.ge, 80.0, DEC, START, pooled=True), points, CUTOFF)
    assert year.forecast.method == "pooled_counts"
    assert year.forecast.pooled
    assert year.probability is not None
    so_far = share_so_far(points, year_terms := TargetTerms(Direction.ge, 80.0, DEC, START,
                                                            pooled=True))
    assert so_far is not None
    assert abs(so_far - 100 * sum(p.numerator or 0 for p in points) / 120) < 1e-9
    assert year.status is (Status.met if year.probability >= 0.55 else Status.at_risk)
    assert records_to_come(points, year_terms) == 12 * 3 / 92 * 61  # pace × days left


def test_after_the_deadline_the_years_share_decides() -> None:
    rates = [95.0] * 11 + [70.0]
    points = counted(rates, 100)
    day = date(2027, 1, 10)
    assert assess(TargetTerms(Direction.ge, 90.0, DEC, START), points, day).status \
        is Status.behind
    assert assess(TargetTerms(Direction.ge, 90.0, DEC, START, pooled=True), points, day).status \
        is Status.met


def test_one_missed_record_keeps_a_year_at_the_bound_from_being_met() -> None:
    # "≥ 100%" over the year: perfect since February, but January's late dossier stays in
    rates = [95.0] + [100.0] * 9
    points = counted(rates, 20)
    month = assess(TargetTerms(Direction.ge, 100.0, DEC, START), points, CUTOFF)
    year = assess(TargetTerms(Direction.ge, 100.0, DEC, START, pooled=True), points, CUTOFF)
    assert not month.status.flagged
    assert year.status is Status.behind


def test_without_counts_the_month_is_judged() -> None:
    # a published share has no records behind it: the deadline month's value stands
    points = [Point(p.at, p.value) for p in counted([70.0 + m for m in range(10)], 100)]
    month = assess(TargetTerms(Direction.ge, 80.0, DEC, START), points, CUTOFF)
    year = assess(TargetTerms(Direction.ge, 80.0, DEC, START, pooled=True), points, CUTOFF)
    assert not year.forecast.pooled
    assert year.status is month.status
    assert year.probability == month.probability


def test_the_sentence_says_the_share_is_over_the_window() -> None:
    from chiso.outlook.sentence import sentence

    points = counted([60, 63, 66, 69, 72, 75, 78, 81, 84, 87], 2000)
    terms = TargetTerms(Direction.ge, 80.0, DEC, START, pooled=True)
    a = assess(terms, points, CUTOFF)
    vi = sentence("Thành phố Hà Nội", terms, a, "vi")
    assert "tính chung từ 01/01/2026 đến 31/12/2026" in vi
    assert "thiếu" in vi
    assert "over 1 January 2026 to 31 December 2026" in sentence("Hanoi", terms, a, "en")
