"""The backtest's scenario families: seeded, disjoint seed ranges, outcomes as documented."""

from __future__ import annotations

from datetime import date

import pytest
from bench.backtest.families import ALL, UNSEEN, scenario
from bench.backtest.run import HELD_OUT, TUNING, score, trace, weeks

from chiso.outlook.status import DEFAULT_RULE, Rule, Status, assess


def test_same_seed_same_scenario_and_ranges_disjoint() -> None:
    for fam in ALL:
        a, b = scenario(fam, 7), scenario(fam, 7)
        assert a.points == b.points
        assert a.final == b.final
        assert a.history == b.history
    assert not set(TUNING) & set(HELD_OUT[:1000])


def test_families_tell_their_stories() -> None:
    bound = [scenario("at_bound", s) for s in range(1, 40)]
    assert {s.terms.threshold for s in bound} == {0.0, 100.0}
    assert all(s.missed == (s.archetype in ("slipping", "near")) for s in bound)
    early = [scenario("early", s) for s in range(1, 20)]
    assert {s.terms.deadline for s in early} == {date(2026, 6, 30), date(2026, 9, 30)}
    seasonal = scenario("seasonal", 3)
    assert len(seasonal.history) == 36
    assert seasonal.history[-1].at == date(2025, 12, 31)
    small = scenario("small_counts", 5)
    assert all(p.denominator is not None and p.denominator <= 16 for p, _ in small.points)
    cum = [p.value for p, _ in scenario("cumulative", 2).points]
    assert cum == sorted(cum)


def test_the_cut_off_is_eight_weeks_before_each_deadline() -> None:
    assert weeks(date(2026, 6, 30))[-1] == date(2026, 5, 5)
    assert weeks(date(2026, 12, 31))[-1] == date(2026, 11, 5)


def test_the_cut_off_call_is_the_engine_s_call_on_that_day() -> None:
    # trend:212 reports its May value in June, then nothing until after the cut-off: by
    # 5 November May's value is stale, and the call is what the engine says that day (at
    # risk: May's value misses the threshold, too close to the deadline to wait), not the
    # probability it gave in June
    for seed in (212, 260):
        sc = scenario("trend", seed)
        cutoff = weeks(sc.terms.deadline)[-1]
        latest = max(p.at for p in sc.known_on(cutoff))
        assert (cutoff - latest).days > DEFAULT_RULE.stale_days
        a = assess(sc.terms, sc.known_on(cutoff), cutoff, Rule(p_on_track=1.0, p_behind=0.0))
        said = None if a.status is Status.no_data else a.probability
        assert trace(("trend", seed)).probs[-1] == said
    assert trace(("trend", 212)).probs[-1] == 0.0


def test_scores_count_hits_and_no_data() -> None:
    traces = [trace(("at_bound", s)) for s in range(1, 6)]
    f = score(traces, "engine", DEFAULT_RULE)
    assert f.n == 5
    assert f.missed == sum(t.missed for t in traces)
    assert 0 <= f.hits <= min(f.missed, f.flagged)


def test_unseen_families_tell_their_stories() -> None:
    for s in range(1, 15):
        st = scenario("step", s)
        levels = sorted({round(v, 6) for v in st.path})
        assert len(levels) == 2  # one jump, then the new level stays
        g = scenario("gap", s)
        at = [p.at.month for p, _ in g.points]
        late = [k for p, k in g.points if (k - p.at).days > 20]
        assert len(at) < 12 or late  # months left out, or sent late in one go
        cum = [p.value for p, _ in scenario("holiday_counts", s).points]
        assert cum == sorted(cum)
        dens = [p.denominator or 0 for p, _ in scenario("shrinking", s).points]
        assert dens[0] >= 60
        assert dens[-1] <= 25
    assert set(UNSEEN) <= set(ALL)


def test_the_truth_bounds_what_can_be_scored() -> None:
    traces = [trace(("small_counts", s)) for s in range(1, 4)]
    traces += [trace(("at_bound", s)) for s in range(1, 3)]
    truth = score(traces, "oracle", DEFAULT_RULE)
    assert truth.n == 3  # only the families whose outcome is left to chance carry it
    assert all(t.oracle is not None and 0 <= t.oracle <= 1 for t in traces[:3])


def test_newest_families_tell_their_stories() -> None:
    from bench.backtest.families import NEWEST

    assert set(NEWEST) <= set(UNSEEN)
    directions = set()
    for s in range(1, 25):
        b = scenario("batchy_counts", s)
        directions.add(b.terms.higher_is_better)
        for p, _ in b.points:
            assert p.numerator is not None
            assert p.denominator is not None
            assert 3 <= p.denominator <= 23
            assert p.value == pytest.approx(100 * p.numerator / p.denominator)
        assert b.missed == (not b.terms.met(b.final))
        r = scenario("relapse", s)
        peak = max(r.path[:8])
        assert min(r.path[5:]) < peak - 1.5  # ground is lost after the migration
        assert abs(r.path[-1] - r.terms.threshold) >= 1.5
    assert directions == {True, False}  # both "at least" and "at most" shares


def test_shares_of_records_are_judged_on_the_years_share() -> None:
    # the catalog judges a ratio with no judged periods on its year to date: the families
    # of records' shares are scored on the share of the year's records, not December's
    for fam in ("small_counts", "shrinking", "batchy_counts", "city_ratio"):
        for seed in range(1, 30):
            sc = scenario(fam, seed)
            assert sc.terms.pooled
            k = sum(p.numerator or 0 for p, _ in sc.points)
            n = sum(p.denominator or 0 for p, _ in sc.points)
            assert sc.final == pytest.approx(100 * k / n)
    # and December's month alone would often say otherwise on the city's ratios
    ratios = [scenario("city_ratio", s) for s in range(1, 60)]
    assert sum(s.terms.met(s.points[-1][0].value) != s.terms.met(s.final) for s in ratios) >= 10
