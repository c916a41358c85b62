"""The backtest of the warning engine (docs/outlook.md): ``uv run python -m bench.backtest``.

For every scenario it runs the engine as it would have run each week of 2026 (every Monday,
on the values known that day), and compares the flags with the outcome known in advance.

* a target is *flagged early* when its status on the cut-off day (8 weeks before the deadline)
  is ``có nguy cơ`` or ``chậm tiến độ``;
* recall: flagged early and missed / missed; precision: flagged early and missed / flagged
  early;
* lead time (missed targets flagged early): weeks before the deadline since the flag has been
  up without a break;
* the naive baseline runs in the same pass: the straight line through the first and the last
  known value, extended to the deadline; flagged when it falls short.

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

from bench.backtest.scenarios import DEADLINE, START, make

from chiso.outlook.forecast import straight_line
from chiso.outlook.status import DEFAULT_RULE, Rule, Status, assess, probability_met

LEAD_WEEKS = 8
CUTOFF = DEADLINE - timedelta(weeks=LEAD_WEEKS)
TUNING = range(1, 100_000)  # seeds 1..99,999
HELD_OUT = range(1_000_000, 1_100_000)  # never looked at while tuning


def mondays(until: date) -> list[date]:
    d = START + timedelta(days=(7 - START.weekday()) % 7)
    out = []
    while d <= until:
        out.append(d)
        d += timedelta(weeks=1)
    return out


WEEKS = mondays(CUTOFF)
if WEEKS[-1] != CUTOFF:
    WEEKS.append(CUTOFF)


@dataclass
class Trace:
    """What the engine said on each evaluation day: probability of meeting (None: no data)."""

    seed: int
    archetype: str
    missed: bool
    irregular: bool
    probs: list[float | None]
    naive: list[bool | None]  # naive baseline: flagged?


def trace(seed: int) -> Trace:
    sc = make(seed)
    probs: list[float | None] = []
    naive: list[bool | None] = []
    cache: dict[int, float | None] = {}
    for day in WEEKS:
        known = sc.known_on(day)
        key = len(known)  # the forecast only changes when a new value arrives
        if key not in cache:
            a = assess(sc.terms, known, day, Rule(p_on_track=1.0, p_behind=0.0))
            cache[key] = None if a.status is Status.no_data else probability_met(
                a.forecast, sc.terms)
        probs.append(cache[key])
        line = straight_line(known, sc.terms, day)
        naive.append(None if len(known) < DEFAULT_RULE.min_observations or line is None
                     else not sc.terms.met(line))
    return Trace(seed, sc.archetype, sc.missed, sc.irregular, probs, naive)


def flags(t: Trace, rule: Rule) -> list[bool]:
    return [p is not None and p < rule.p_on_track for p in t.probs]


@dataclass
class Figures:
    n: int
    missed: int
    flagged: int
    hits: int
    leads: list[int]

    @property
    def recall(self) -> float:
        return self.hits / self.missed if self.missed else 1.0

    @property
    def precision(self) -> float:
        return self.hits / self.flagged if self.flagged else 1.0

    def line(self, name: str) -> str:
        lead = (f"median {statistics.median(self.leads):.0f} wk, min {min(self.leads)} wk"
                if self.leads else "—")
        return (f"  {name:<28} recall {self.recall:6.1%} ({self.hits}/{self.missed})   "
                f"precision {self.precision:6.1%} ({self.hits}/{self.flagged})   lead {lead}")


def score(traces: Iterable[Trace], flagger: str, rule: Rule = DEFAULT_RULE) -> Figures:
    n = missed = flagged = hits = 0
    leads: list[int] = []
    for t in traces:
        n += 1
        f = flags(t, rule) if flagger == "engine" else [bool(x) for x in t.naive]
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
    return Figures(n, missed, flagged, hits, leads)


def run_traces(seeds: list[int], workers: int) -> list[Trace]:
    if workers <= 1:
        return [trace(s) for s in seeds]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(trace, seeds, chunksize=8))


def report(title: str, traces: list[Trace], rule: Rule) -> tuple[Figures, Figures]:
    eng, nai = score(traces, "engine", rule), score(traces, "naive")
    print(f"{title}: {eng.n} scenarios, {eng.missed} end up missed")
    print(eng.line("engine (local linear trend)"))
    print(nai.line("naive (straight line)"))
    by: dict[str, list[Trace]] = {}
    for t in traces:
        by.setdefault(t.archetype, []).append(t)
    for arch, ts in sorted(by.items()):
        f = score(ts, "engine", rule)
        print(f"    {arch:<10} n={f.n:<4} missed={f.missed:<4} recall {f.recall:6.1%}  "
              f"precision {f.precision:6.1%}")
    return eng, nai


def tune(traces: list[Trace]) -> Rule:
    """The p_on_track with the best precision among those whose recall is at least 90%."""
    best: tuple[float, float, float] | None = None
    print("tuning grid (p_on_track: recall, precision):")
    for p in [x / 100 for x in range(30, 100, 5)]:
        f = score(traces, "engine", Rule(p_on_track=p))
        print(f"  {p:.2f}: {f.recall:6.1%} {f.precision:6.1%}")
        if f.recall >= 0.9 and (best is None or f.precision > best[1]):
            best = (p, f.precision, f.recall)
    return Rule(p_on_track=best[0]) if best else DEFAULT_RULE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--scenarios", type=int, default=80, help="per seed range (default 80)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tune", action="store_true", help="print the grid and use its choice")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    n = args.scenarios
    tuning = run_traces(list(TUNING[:n]), args.workers)
    held = run_traces(list(HELD_OUT[:n]), args.workers)
    rule = tune(tuning) if args.tune else DEFAULT_RULE
    print(f"rule: p_on_track={rule.p_on_track} (flag = có nguy cơ or chậm tiến độ on "
          f"{CUTOFF:%d/%m/%Y}, {LEAD_WEEKS} weeks before {DEADLINE:%d/%m/%Y})")
    report(f"TUNING seeds {TUNING[0]}..{TUNING[0] + n - 1}", tuning, rule)
    eng, _ = report(f"HELD-OUT seeds {HELD_OUT[0]}..{HELD_OUT[0] + n - 1}", held, rule)
    ok = eng.recall >= 0.9 and eng.precision >= 0.75
    print(f"bar (held-out): recall ≥ 90% and precision ≥ 75% at ≥ {LEAD_WEEKS} weeks: "
          f"{'MET' if ok else 'NOT MET'}   ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
