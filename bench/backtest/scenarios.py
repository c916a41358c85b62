"""The seeded scenario generator of the backtest (docs/outlook.md, "The backtest").

One scenario is one target at one unit over one year (2026): monthly values of the judged
measure, as the unit's systems would report them, and the outcome known in advance: the value
of December, the deadline's month, against the threshold (a share with no records behind it:
a published figure, judged on its latest value).

Everything comes from ``random.Random(seed)``: the same seed gives the same scenario on every
machine. Archetypes (drawn with the weights in ``ARCHETYPES``):

* ``improve``   steady progress from a baseline to a final level drawn around the threshold;
* ``stall``     progress until a month between April and August, then flat;
* ``collapse``  on track, then a fall starting between June and October (a system outage, a
                reorganisation); a fall that starts after the 8-week cut-off is undetectable
                by any method and is not generated (it would measure luck, not the engine);
* ``recover``   a bad first half (falling), then a recovery of varying strength;
* ``flat``      hovering at a level near the threshold.

On top of every archetype: noise (standard deviation 0.3–2.5 points a month), a Tết dip in
February 2026 (Tết is 17/02/2026) for 70% of units (2–10 points), irregular reporting for
30% of units (each month missing with probability 0.25–0.45, reported 3–25 days late), and
for 20% of scenarios a "lower is better" target (e.g. a share of dossiers returned for
supplements ≤ X%), simulated as the mirror image.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from chiso.catalog.models import Direction
from chiso.outlook.series import Point, TargetTerms

YEAR = 2026
DEADLINE = date(YEAR, 12, 31)
START = date(YEAR, 1, 1)

ARCHETYPES = {"improve": 3, "stall": 2, "collapse": 1.5, "recover": 1.5, "flat": 2}


@dataclass
class Scenario:
    seed: int
    archetype: str
    terms: TargetTerms
    points: list[tuple[Point, date]]  # (value as of its month's end, day it became known)
    final: float  # December's true reported value
    irregular: bool
    tet_dip: float
    noise: float
    path: list[float] = field(default_factory=list)  # the 12 noiseless monthly levels
    family: str = "trend"
    history: list[Point] = field(default_factory=list)  # earlier years, known from the start
    # P(the deadline value meets the threshold) knowing the truth the scenario was drawn from
    # (December's true level or rate and its noise): the best any method can do, where the
    # outcome is left to December's noise
    oracle: float | None = None

    @property
    def missed(self) -> bool:
        return not self.terms.met(self.final)

    def known_on(self, today: date) -> list[Point]:
        return self.history + [p for p, known in self.points if known <= today]


def _month_end(m: int) -> date:
    if m == 12:
        return date(YEAR, 12, 31)
    return date(YEAR, m + 1, 1) - timedelta(days=1)


def _shape(rng: random.Random, archetype: str, base: float, final: float,
           threshold: float) -> list[float]:
    """Twelve noiseless monthly levels, month 1..12."""
    out: list[float] = []
    if archetype == "improve":
        curve = rng.uniform(0.7, 1.3)  # <1 early gains, >1 late gains
        out = [base + (final - base) * (m / 12) ** curve for m in range(1, 13)]
    elif archetype == "stall":
        stop = rng.randint(4, 8)  # reaches its final level by then and stays
        out = [base + (final - base) * min(m, stop) / stop for m in range(1, 13)]
    elif archetype == "collapse":
        onset = rng.randint(6, 10)
        rate = (threshold + 1 - base) / 12  # on course to just make it
        drop = rng.uniform(0.5, 3.0)  # points lost per month once it collapses
        level = base
        for m in range(1, 13):
            level += rate if m < onset else -drop
            out.append(level)
    elif archetype == "recover":
        low_month = rng.randint(4, 7)
        fall = rng.uniform(0.3, 1.5)
        climb = rng.uniform(0.2, 2.5)
        level = base
        for m in range(1, 13):
            level += -fall if m <= low_month else climb
            out.append(level)
    else:  # flat
        out = [final] * 12
    return out


def make(seed: int) -> Scenario:
    rng = random.Random(seed)
    names, weights = zip(*ARCHETYPES.items(), strict=True)
    archetype = rng.choices(names, weights=weights)[0]
    threshold = float(rng.choice([80, 85, 90, 95, 98]))
    base = threshold - rng.uniform(2, 18)
    final = threshold + rng.uniform(-6, 6)
    path = [min(max(v, 0.0), 100.0)
            for v in _shape(rng, archetype, base, final, threshold)]
    noise = rng.uniform(0.3, 2.5)
    tet_dip = rng.uniform(2, 10) if rng.random() < 0.7 else 0.0
    irregular = rng.random() < 0.3
    miss_p = rng.uniform(0.25, 0.45) if irregular else 0.0
    lower_better = rng.random() < 0.2
    observed: list[float] = []
    points: list[tuple[Point, date]] = []
    for m in range(1, 13):
        v = path[m - 1] + rng.gauss(0, noise) - (tet_dip if m == 2 else 0.0)
        v = min(max(v, 0.0), 100.0)
        observed.append(v)
        if m < 12 and rng.random() < miss_p:
            continue  # never reported
        lag = rng.randint(3, 25) if irregular else rng.randint(3, 7)
        points.append((Point(_month_end(m), v), _month_end(m) + timedelta(days=lag)))
    final_value = observed[-1]
    if lower_better:  # the mirror image: a share that must fall to 100 - threshold or below
        terms = TargetTerms(Direction.le, 100 - threshold, DEADLINE, START)
        points = [(Point(p.at, 100 - p.value), k) for p, k in points]
        final_value = 100 - final_value
        path = [100 - v for v in path]
    else:
        terms = TargetTerms(Direction.ge, threshold, DEADLINE, START)
    oracle = 0.5 * (1 + math.erf(terms.gap(path[-1]) / (noise * math.sqrt(2))))
    return Scenario(seed, archetype, terms, points, final_value, irregular, tet_dip, noise, path,
                    oracle=oracle)
