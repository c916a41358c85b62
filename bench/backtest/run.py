"""The backtest of the warning engine (docs/outlook.md): ``uv run python -m bench.backtest``.

For every scenario of every family (``families.py``) it runs the engine as it would have run
each week of 2026 up to the cut-off (every Monday, on the values known that day), and compares
the flags with the outcome known in advance. Figures are printed overall and per family, for
the engine and the baseline.

* a target is *flagged early* when its status on the cut-off day (8 weeks before its
  deadline) is ``có nguy cơ`` or ``chậm tiến độ`` (``thiếu dữ liệu`` is not a flag);
* recall: flagged early and missed / missed; precision: flagged early and missed / flagged
  early;
* lead time (missed targets flagged early): weeks before the deadline since the flag has been
  up without a break;
* the naive baseline runs in the same pass: the straight line through the first and the last
  known value, extended to the deadline; flagged when it falls short (for a target judged on
  its year's share, the line through that share as it stood at the first and last point).

Tuning seeds and held-out seeds are disjoint ranges; the rule's thresholds were chosen on the
tuning range only (``--tune`` prints the grid it was chosen from).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

from bench.backtest.families import ALL, CUTOFF_WEEKS, NEWEST, UNSEEN, scenario
from bench.backtest.scenarios import START

from chiso.outlook.forecast import straight_line
from chiso.outlook.pooled import running_shares
from chiso.outlook.series import Point, TargetTerms, month_index
from chiso.outlook.status import DEFAULT_RULE, Rule, Status, assess

LEAD_WEEKS = CUTOFF_WEEKS  # the cut-off: the call scored is made this long before the deadline
TUNING = range(1, 100_000)  # seeds 1..99,999
HELD_OUT = range(1_000_000, 1_100_000)  # never looked at while tuning


def mondays(until: date) -> list[date]:
    d = START + timedelta(days=(7 - START.weekday()) % 7)
    out = []
    while d <= until:
        out.append(d)
        d += timedelta(weeks=1)
    return out


def weeks(deadline: date) -> list[date]:
    """Every Monday of the year up to the cut-off, ``LEAD_WEEKS`` before ``deadline``, and
    the cut-off itself."""
    cutoff = deadline - timedelta(weeks=LEAD_WEEKS)
    out = mondays(cutoff)
    if not out or out[-1] != cutoff:
        out.append(cutoff)
    return out


@dataclass
class Trace:
    """What the engine said on each evaluation day: probability of meeting (None: no data)."""

    seed: int
    family: str
    archetype: str
    missed: bool
    irregular: bool
    probs: list[float | None]
    naive: list[bool | None]  # naive baseline: flagged?
    oracle: float | None = None  # P(met) knowing the scenario's truth (scenarios.Scenario)


def trace(job: tuple[str, int]) -> Trace:
    family, seed = job
    sc = scenario(family, seed)
    probs: list[float | None] = []
    naive: list[bool | None] = []
    cache: dict[tuple[int, bool, bool], float | None] = {}
    for day in weeks(sc.terms.deadline):
        known = sc.known_on(day)
        # the forecast only changes when a new value arrives; the status also when the
        # latest value grows stale or the deadline draws near (both judged on the day)
        latest = max((p.at for p in known if p.at >= sc.terms.start), default=None)
        key = (len(known),
               latest is not None and (day - latest).days > DEFAULT_RULE.stale_days,
               month_index(sc.terms.deadline) - month_index(day) < DEFAULT_RULE.closing_months)
        if key not in cache:
            a = assess(sc.terms, known, day, Rule(p_on_track=1.0, p_behind=0.0))
            cache[key] = None if a.status is Status.no_data else a.probability
        probs.append(cache[key])
        line = straight_line(year_to_date(known, sc.terms) if sc.terms.pooled else known,
                             sc.terms, day)
        naive.append(None if len(known) < DEFAULT_RULE.min_observations or line is None
                     else not sc.terms.met(line))
    return Trace(seed, family, sc.archetype, sc.missed, sc.irregular, probs, naive, sc.oracle)


def year_to_date(points: list[Point], terms: TargetTerms) -> list[Point]:
    """The window's share as it stood at each point: the baseline's series for a target
    judged on it."""
    inside = sorted((p for p in points if p.at >= terms.start), key=lambda p: p.at)
    return [Point(p.at, v) for p, v in zip(inside, running_shares(inside), strict=True)
            if v is not None]


def flags(t: Trace, rule: Rule) -> list[bool]:
    return [p is not None and p < rule.p_on_track for p in t.probs]


@dataclass
class Figures:
    n: int
    missed: int
    flagged: int
    hits: int
    leads: list[int]
    no_data: int = 0  # "thiếu dữ liệu" on the cut-off day

    @property
    def recall(self) -> float:
        return self.hits / self.missed if self.missed else 1.0

    @property
    def precision(self) -> float:
        return self.hits / self.flagged if self.flagged else 1.0

    def summary(self) -> str:
        lead = f"{statistics.median(self.leads):.0f} wk" if self.leads else "—"
        return (f"recall {self.recall:6.1%} precision {self.precision:6.1%} lead {lead:>5} "
                f"no data {self.no_data}")

    def line(self, name: str) -> str:
        lead = (f"median {statistics.median(self.leads):.0f} wk, min {min(self.leads)} wk"
                if self.leads else "—")
        return (f"  {name:<28} recall {self.recall:6.1%} ({self.hits}/{self.missed})   "
                f"precision {self.precision:6.1%} ({self.hits}/{self.flagged})   lead {lead}")


def score(traces: Iterable[Trace], flagger: str, rule: Rule = DEFAULT_RULE) -> Figures:
    n = missed = flagged = hits = no_data = 0
    leads: list[int] = []
    for t in traces:
        if flagger == "oracle":
            if t.oracle is None:
                continue
            f = [t.oracle < rule.p_on_track]
        else:
            f = flags(t, rule) if flagger == "engine" else [bool(x) for x in t.naive]
            no_data += (t.probs[-1] if flagger == "engine" else t.naive[-1]) is None
        n += 1
        up = f[-1]
        missed += t.missed
        flagged += up
        if up and t.missed:
            hits += 1
            run = 0
            for x in reversed(f):
                if not x:
                    break
                run += 1
            # weeks before the deadline since the flag went up (the cut-off is 8 weeks out)
            leads.append(LEAD_WEEKS + run - 1)
    return Figures(n, missed, flagged, hits, leads, no_data)


def run_traces(jobs: list[tuple[str, int]], workers: int) -> list[Trace]:
    if workers <= 1:
        return [trace(j) for j in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(trace, jobs, chunksize=4))


def report(title: str, traces: list[Trace], rule: Rule) -> tuple[Figures, Figures, float]:
    """Print overall and per-family figures; returns the overall figures of the engine and
    the baseline, and the lowest recall of the engine over the families."""
    eng, nai = score(traces, "engine", rule), score(traces, "naive")
    print(f"{title}: {eng.n} scenarios, {eng.missed} end up missed")
    print(eng.line("engine"))
    print(nai.line("naive (straight line)"))
    by: dict[str, list[Trace]] = {}
    for t in traces:
        by.setdefault(t.family, []).append(t)
    unseen = [t for t in traces if t.family in UNSEEN]
    if unseen and len(unseen) < len(traces):
        print(score(unseen, "engine", rule).line("engine, unseen families"))
        print(score(unseen, "naive").line("naive, unseen families"))
    newest = [t for t in traces if t.family in NEWEST]
    if newest and len(newest) < len(traces):
        print(score(newest, "engine", rule).line("engine, newest families"))
        print(score(newest, "naive").line("naive, newest families"))
    lowest = 1.0
    for fam, ts in by.items():
        f, b = score(ts, "engine", rule), score(ts, "naive")
        lowest = min(lowest, f.recall)
        print(f"    {fam:<14} n={f.n:<4} missed={f.missed:<4} engine {f.summary()}   "
              f"naive {b.summary()}")
        o = score(ts, "oracle", rule)
        if o.n:
            print(f"    {'':<14} knowing the truth (the best possible): recall {o.recall:6.1%} "
                  f"precision {o.precision:6.1%}")
    return eng, nai, lowest


def print_misses(traces: list[Trace], rule: Rule) -> None:
    """Each scenario the engine got wrong on the cut-off day: a miss it did not flag (or
    judged "thiếu dữ liệu"), or a flag on a target that was met."""
    for t in traces:
        last = t.probs[-1]
        up = last is not None and last < rule.p_on_track
        if up != t.missed:
            what = "not flagged" if t.missed else "false flag"
            p = "no data" if last is None else f"p={last:.2f}"
            print(f"      {what:<12} {t.family}:{t.seed} {t.archetype:<16} {p}")


def tune(traces: list[Trace]) -> Rule:
    """The p_on_track with the best precision among those whose recall is at least 95%, on
    the families the rule was chosen on (never the ``UNSEEN`` ones)."""
    best: tuple[float, float, float] | None = None
    print("tuning grid (p_on_track: recall, precision):")
    traces = [t for t in traces if t.family not in UNSEEN]
    for p in [x / 100 for x in range(30, 96, 5)]:
        f = score(traces, "engine", Rule(p_on_track=p))
        print(f"  {p:.2f}: {f.recall:6.1%} {f.precision:6.1%}")
        if f.recall >= 0.95 and (best is None or f.precision > best[1]):
            best = (p, f.precision, f.recall)
    return Rule(p_on_track=best[0]) if best else DEFAULT_RULE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--scenarios", type=int, default=40,
                    help="per family and seed range (default 40)")
    ap.add_argument("--families", default=",".join(ALL),
                    help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("--held-out-only", action="store_true", help="skip the tuning seeds")
    ap.add_argument("--tuning-only", action="store_true",
                    help="only the tuning seeds (while changing the engine)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tune", action="store_true", help="print the grid and use its choice")
    ap.add_argument("--misses", action="store_true",
                    help="list the engine's missed and false flags, scenario by scenario")
    args = ap.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(ALL))
    if unknown:
        ap.error(f"unknown families {unknown}; choose among {ALL}")
    t0 = time.perf_counter()
    n = args.scenarios
    rule = DEFAULT_RULE
    print(f"rule: p_on_track={rule.p_on_track} (flag = có nguy cơ or chậm tiến độ "
          f"{LEAD_WEEKS} weeks before the deadline)")
    if not args.held_out_only or args.tune:
        tuning = run_traces([(f, s) for f in families for s in TUNING[:n]], args.workers)
        if args.tune:
            rule = tune(tuning)
        report(f"TUNING seeds {TUNING[0]}..{TUNING[0] + n - 1}", tuning, rule)
        if args.misses:
            print_misses(tuning, rule)
    if args.tuning_only:
        return 0
    held = run_traces([(f, s) for f in families for s in HELD_OUT[:n]], args.workers)
    eng, nai, lowest = report(f"HELD-OUT seeds {HELD_OUT[0]}..{HELD_OUT[0] + n - 1}", held,
                              rule)
    if args.misses:
        print_misses(held, rule)
    ok = (eng.recall >= 0.95 and eng.precision >= 0.85 and lowest >= 0.85
          and eng.recall > nai.recall and eng.precision > nai.precision)
    print(f"bar (held-out): recall ≥ 95%, precision ≥ 85%, every family's recall ≥ 85%, "
          f"ahead of the baseline on both, at ≥ {LEAD_WEEKS} weeks: "
          f"{'MET' if ok else 'NOT MET'}   ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
