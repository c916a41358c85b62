"""The city's statistics publisher: every ``stats.*`` indicator chiso defines, month by month.

The simulator learns what to publish from chiso's public read API, as a statistics office
would read the published definitions (never by importing ``chiso``):

    definitions, targets = fetch_definitions("http://127.0.0.1:8000")
    records = city_statistics(definitions, targets, seed=2026, year=2026, months=12)

``fetch_definitions`` reads ``GET /api/v1/indicators?feed=stats.value``, each indicator's
``GET /api/v1/indicators/{code}`` (its measures with their ``stats_indicator`` codes, rollup,
direction, unit and bound targets) and each bound target's threshold from
``GET /api/v1/plans/{key}/targets/{id}``.

``city_statistics`` yields ``stats.value`` records:

- a figure (``kind: latest``, ``rollup: city_published``: a GRDP share, a rank, a count of
  datasets) is published for the city itself (unit ``UBNDTP``);
- a share published from a register kept per commune (the hint says "per commune" or "cấp
  xã", or a target is bound at the implementing units) is published for each of the 126
  communes with its ``numerator`` and ``denominator``, so that the city is a ratio of sums;
  other shares are published for the city with the city's numerator and denominator;
- a share of two published counts (``ihanoi_accounts`` / ``adult_population``) publishes the
  missing count per commune, consistent with the ``ihanoi_accounts`` series of
  ``chiso_sim.hanoi.stats_values`` (yielded too, unchanged, unless ``accounts=False``).

Each indicator follows a path toward its bound target's threshold by the target's deadline,
chosen by the seed among four scenarios so that the dashboard shows every status: already past
the threshold (met), closing in fast enough (on track), closing in too slowly (at risk) and far
off (behind). The path is laid for what the target is judged on: a figure on its deadline's
month, a share of counts on the share of the year's records (its months end further up), and
"100%" only by a path that misses no record. A month is published some days after it ends
(``published_at``, a lag of its own per indicator); a month not yet published at ``now`` is
not yielded.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx

from chiso_sim.hanoi import VN, communes, stats_values

CITY = "UBNDTP"
FEED = "stats.value"
# the share of each scenario among the bound indicators (a realistic mix: most on course)
MIX = ["met", "on_track", "at_risk", "behind", "met", "on_track", "met", "at_risk", "on_track",
       "behind"]
REFERENCE_MONTH = 10  # counts derived from ihanoi_accounts are calibrated on this month
PER_COMMUNE_HINTS = ("per commune", "cấp xã")

Definition = dict[str, Any]
Target = dict[str, Any]


# --- reading the definitions through the public API ------------------------------------------

def _get(client: httpx.Client, path: str) -> Any:
    r = client.get(path)
    r.raise_for_status()
    return r.json()


def fetch_definitions(base: str | httpx.Client, feed: str = FEED
                      ) -> tuple[list[Definition], dict[str, Target]]:
    """The ``feed``'s indicator definitions as chiso publishes them, and the targets they are
    bound to, keyed ``"<plan number>:<target id>"`` (``"131/KH-UBND:III.12"``).

    ``base``: chiso's base URL, or an httpx-compatible client already pointed at it (a
    ``fastapi.testclient.TestClient``)."""
    own = isinstance(base, str)
    client = httpx.Client(base_url=base, timeout=30) if isinstance(base, str) else base
    try:
        listing = _get(client, f"/api/v1/indicators?feed={feed}")
        definitions: list[Definition] = [_get(client, f"/api/v1/indicators/{d['code']}")
                                         for d in listing if d.get("feed", feed) == feed]
        _stand_ins_take_their_targets(client, definitions)
        targets: dict[str, Target] = {}
        for d in definitions:
            for t in d.get("targets") or []:
                key = f"{t['plan']}:{t['target']}"
                if key not in targets:
                    plan_key = t["plan"].replace("/", "-")
                    targets[key] = _get(client, f"/api/v1/plans/{plan_key}/targets/{t['target']}")
    finally:
        if own:
            client.close()
    return definitions, targets


def _stand_ins_take_their_targets(client: httpx.Client, definitions: list[Definition]
                                  ) -> None:
    """A published figure that stands in for another indicator (its ``fallback``: the GRDP
    share published on its own while no GRDP release carries it) and is bound to no target
    itself follows the targets of the indicator it stands in for, so that the two tell the
    same story instead of the stand-in drifting around a made-up threshold."""
    ours = {d["code"]: d for d in definitions if not d.get("targets")}
    if not ours:
        return
    read = {d["code"] for d in definitions}
    for summary in _get(client, "/api/v1/indicators"):
        if summary.get("rollup") != "city_published" or summary["code"] in read:
            continue
        primary = _get(client, f"/api/v1/indicators/{summary['code']}")
        stand_in = ours.get(primary.get("fallback") or "")
        if stand_in is not None and primary.get("targets"):
            stand_in["targets"] = primary["targets"]


# --- the paths -------------------------------------------------------------------------------

def _higher_is_better(definition: Definition, target: Target | None) -> bool:
    if target is not None:
        return str(target["direction"]) in (">=", ">", "=")
    return definition.get("direction") != "lower_is_better"


def _threshold(definition: Definition, target: Target | None) -> float:
    if target is not None and target.get("threshold") is not None:
        return float(target["threshold"])
    uom = definition.get("unit_of_measure")
    return 80.0 if uom == "%" else 5.0 if uom == "thứ hạng" else 10.0


def _step(uom: str, threshold: float) -> float:
    """The size of a month's typical move, in the indicator's unit."""
    if uom == "%":
        return min(1.0, max(threshold, 1.0) / 60)
    if uom == "thứ hạng":
        return 0.6
    return max(threshold / 20, 0.2)


def _bounds(uom: str) -> tuple[float, float]:
    if uom == "%":
        return 0.0, 100.0
    if uom == "thứ hạng":
        return 1.0, 63.0
    return 0.0, math.inf


# (January's gap, December's gap, noise), in typical monthly moves (``_step``), per scenario:
# for a value judged on its deadline's month ...
MONTH_PATHS = {
    "met": (-9.0, 4.0, 0.25),
    "on_track": (-16.0, 3.0, 0.2),
    "at_risk": (-12.0, 0.5, 1.0),  # noisy and ending near it: the forecast is unsure
    "behind": (-14.0, -8.0, 0.3),
}
# ... and for a share judged on the year's records (the ratio of the year's sums), whose
# months must end further up for the year to come out where the scenario says: ``met`` is met
# by the autumn, ``on_track`` short then and met by December, ``at_risk`` a little short of
# it in December, ``behind`` far short
YEAR_PATHS = {
    "met": (-2.0, 8.0, 0.25),
    "on_track": (-6.0, 7.0, 0.2),
    "at_risk": (-4.5, 4.0, 1.0),
    "behind": (-9.0, -3.0, 0.3),
}


def city_path(scenario: str, threshold: float, higher: bool, uom: str, rng: random.Random,
              months: int = 12, judged_on_year: bool = False, due: int = 12) -> list[float]:
    """The city's value for months 1..``months``: a line from January to the deadline's month
    ``due`` (then level), whose ends depend on the scenario and on what is judged (the
    deadline's month, or the share of the year's records up to it: ``judged_on_year``), with
    a little noise. ``met`` is met well before the deadline; ``on_track`` is met at the
    deadline, still short a few months before; ``at_risk`` ends near it; ``behind`` ends far
    short."""
    u = _step(uom, threshold)
    sign = 1.0 if higher else -1.0
    start_gap, end_gap, noise = (YEAR_PATHS if judged_on_year else MONTH_PATHS)[scenario]
    start_gap *= rng.uniform(0.85, 1.15)
    lo, hi = _bounds(uom)
    out = []
    for m in range(1, months + 1):
        gap = start_gap + (end_gap - start_gap) * (min(m, due) - 1) / max(due - 1, 1)
        v = threshold + sign * u * (gap + rng.gauss(0, noise))
        out.append(min(max(v, lo), hi))
    if uom == "%" and threshold >= 100 and higher and scenario in ("met", "on_track"):
        # "100%" is met only by every record: a unit on course misses none
        out = [100.0] * months
    if uom != "%":  # ranks and counts are whole numbers
        out = [float(round(v)) for v in out]
        if higher:  # a count of datasets or products does not shrink
            for i in range(1, len(out)):
                out[i] = max(out[i], out[i - 1])
    return out


def allocate(denominators: Mapping[str, float], shares: Mapping[str, float]) -> dict[str, float]:
    """Whole numerators, each at most its denominator, summing to the rounded weighted total
    (largest remainders): a small register (four markets) still adds up to the city's share."""
    exact = {u: d * shares[u] for u, d in denominators.items()}
    out = {u: float(math.floor(x)) for u, x in exact.items()}
    left = round(sum(exact.values())) - int(sum(out.values()))
    for u in sorted(exact, key=lambda k: (out[k] - exact[k], k))[:max(left, 0)]:
        out[u] = min(out[u] + 1, denominators[u])
    return out


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def spread(share: float, weights: Mapping[str, float], offsets: Mapping[str, float]
           ) -> dict[str, float]:
    """Per unit shares around ``share`` (offsets on the logit scale) whose weighted mean is
    ``share``: the city stays a ratio of sums of the communes."""
    if share >= 0.99995:
        return dict.fromkeys(weights, 1.0)
    if share <= 0.00005:
        return dict.fromkeys(weights, 0.0)
    total = sum(weights.values())
    base = _logit(share)
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        mean = sum(w * _sigmoid(base + offsets[u] + mid) for u, w in weights.items()) / total
        lo, hi = (mid, hi) if mean < share else (lo, mid)
    shift = (lo + hi) / 2
    return {u: _sigmoid(base + offsets[u] + shift) for u in weights}


# What each per-commune register counts, as a multiple of a commune's size (about its
# population in thousands): households, pupils, villages, markets, …
_DENOMINATORS = [
    ("household", 330.0), ("poor_households", 6.0), ("villages", 0.35),
    ("residential_groups", 0.35), ("schools", 0.8), ("pupils", 180.0), ("markets", 0.15),
    ("adult", 760.0), ("vneid", 1000.0), ("health", 1000.0),
]


def _denominator_factor(code: str) -> float:
    best = 1000.0
    for word, factor in _DENOMINATORS:
        if word in code:
            best = factor  # later, more specific words win
    return best


_CITY_DENOMINATORS = {"report_types": 420, "internal_procedures": 1650, "life_event_procedures":
                      380, "life_event_dossiers": 96_000, "new_enterprises": 2_300,
                      "enterprises_policy": 185_000, "econtract": 185_000, "sme": 172_000,
                      "enterprises_ecommerce": 185_000, "enterprise_documents": 64_000,
                      "supermarkets": 152, "logistics": 21_000, "organisation": 610_000,
                      "smartphone": 6_900_000, "payment_account": 7_400_000,
                      "digital_signature": 6_900_000, "other_services": 240,
                      "telehealth": 6_900_000, "essential_services": 3_200_000,
                      "notices": 1_150, "higher_vocational": 285}


def _city_denominator(code: str, rng: random.Random) -> float:
    for word, n in _CITY_DENOMINATORS.items():
        if word in code:
            return float(round(n * rng.uniform(0.95, 1.05)))
    return float(round(rng.uniform(5_000, 50_000)))


# --- the publisher ---------------------------------------------------------------------------

def source_name(hint: str | None) -> str:
    """The publishing agency from a definition's ``source_hint`` (its first phrase)."""
    name = re.split(r"[(:,;]| with | for ", hint or "")[0].strip()
    return name or "Cục Thống kê TP Hà Nội"


def _published_at(year: int, month: int, lag_days: int) -> datetime:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return datetime.combine(first_next + timedelta(days=lag_days - 1), time(9, 0), tzinfo=VN)


def _scenarios(definitions: list[Definition], seed: int) -> dict[str, str]:
    bound = sorted(d["code"] for d in definitions if d.get("targets"))
    rng = random.Random(seed + 5)
    rng.shuffle(bound)
    return {code: MIX[i % len(MIX)] for i, code in enumerate(bound)}


def _sides(definition: Definition) -> list[tuple[str, dict[str, Any]]]:
    return [(side, definition[side]) for side in ("value", "numerator", "denominator")
            if definition.get(side)]


def _per_commune(definition: Definition) -> bool:
    hint = (definition.get("source_hint") or "").lower()
    implementing = any(t.get("level") == "implementing" for t in definition.get("targets") or [])
    return implementing or any(h in hint for h in PER_COMMUNE_HINTS)


def city_statistics(definitions: list[Definition], targets: Mapping[str, Target], seed: int,
                    year: int, months: int = 12, now: datetime | None = None,
                    accounts: bool = True) -> Iterator[dict[str, Any]]:
    """``stats.value`` records for every definition (see the module's docstring), for months
    1..``months`` of ``year`` published by ``now`` (default: the current time).

    Deterministic: the same definitions, targets and seed give the same records."""
    now = now or datetime.now(VN)
    units = [code for code, _name in communes()]
    rng = random.Random(seed + 6)
    size = {u: rng.lognormvariate(3.3, 0.45) for u in units}  # ~27 thousand people
    maturity = {u: rng.gauss(0.3 if name.startswith("Phường") else -0.3, 0.35)
                for u, name in communes()}
    scenario = _scenarios(definitions, seed)

    # ihanoi_accounts, unchanged, as the iHanoi system publishes it
    account_records = [rec for rec in stats_values(seed, year, 12)
                       if int(rec["period"][5:]) <= months
                       and datetime.fromisoformat(rec["published_at"]) <= now]
    acc: dict[tuple[str, int], float] = {}
    for rec in stats_values(seed, year, 12):
        acc[(rec["unit"], int(rec["period"][5:]))] = float(rec["value"])
    if accounts:
        yield from account_records
    given = {"ihanoi_accounts"}  # published codes already sent (by iHanoi)

    for d in sorted(definitions, key=lambda x: x["code"]):
        if d.get("feed", FEED) != FEED:
            continue
        code = d["code"]
        rng_i = random.Random(f"{seed}:{code}")
        binding = (d.get("targets") or [None])[0]
        target = targets.get(f"{binding['plan']}:{binding['target']}") if binding else None
        uom = str(d.get("unit_of_measure") or "")
        higher = _higher_is_better(d, target)
        threshold = _threshold(d, target)
        sides = dict(_sides(d))
        # a share of counts is judged on the year's records (a figure: on its latest month)
        on_year = "value" not in sides and d.get("kind") == "ratio"
        deadline = date.fromisoformat(target["deadline"]) if target else date(year, 12, 31)
        due = deadline.month if deadline.year == year else 12
        path = city_path(scenario.get(code, "on_track"), threshold, higher, uom, rng_i,
                         judged_on_year=on_year, due=due)
        lag = rng_i.randint(6, 20)
        source = source_name(d.get("source_hint"))
        published = [(m, _published_at(year, m, lag)) for m in range(1, months + 1)]
        published = [(m, at) for m, at in published if at <= now]

        def record(indicator: str, unit: str, m: int, at: datetime, value: float,
                   num: float | None = None, den: float | None = None,
                   src: str = source) -> dict[str, Any]:
            out: dict[str, Any] = {"indicator": indicator, "unit": unit,
                                   "period": f"{year}-{m:02d}", "value": value,
                                   "source_ref": f"{src}, số liệu tháng {m:02d}/{year}"[:200],
                                   "published_at": at.isoformat()}
            if num is not None and den is not None:
                out["numerator"], out["denominator"] = num, den
            return out

        if "value" in sides:  # a figure published for the city itself
            stat = sides["value"]["stats_indicator"]
            for m, at in published:
                v = path[m - 1]
                yield record(stat, CITY, m, at, round(v, 2) if uom == "%" else v)
            continue
        num_side, den_side = sides.get("numerator"), sides.get("denominator")
        if not num_side or not den_side:
            continue
        num_code, den_code = num_side["stats_indicator"], den_side["stats_indicator"]
        offsets = {u: 0.8 * maturity[u] + rng_i.gauss(0, 0.35) for u in units}
        if num_side.get("field") == "value" or den_side.get("field") == "value":
            # a share of two published counts, per commune: derive the one not yet published
            if num_code in given and den_code in given:
                continue
            if num_code in given:  # e.g. adult_population from ihanoi_accounts
                weights = {u: acc[(u, REFERENCE_MONTH)] for u in units}
                shares = spread(path[REFERENCE_MONTH - 1] / 100, weights, offsets)
                shares = {u: min(s, 0.93) for u, s in shares.items()}
                for m, at in published:
                    growth = 1 + 0.0008 * (m - REFERENCE_MONTH)
                    for u in units:
                        adults = float(round(acc[(u, REFERENCE_MONTH)] / shares[u] * growth))
                        yield record(den_code, u, m, at, adults,
                                     src="Cục Thống kê TP Hà Nội")
                given.add(den_code)
                continue
            for m, at in published:  # e.g. monthly active users of ihanoi_accounts
                weights = {u: acc.get((u, m), 0.0) if den_code in given
                           else size[u] * 1000 for u in units}
                weights = {u: float(round(w)) for u, w in weights.items()}
                nums = allocate(weights, spread(path[m - 1] / 100, weights, offsets))
                for u in units:
                    if den_code not in given:
                        yield record(den_code, u, m, at, weights[u])
                    yield record(num_code, u, m, at, nums[u])
            given.update({num_code, den_code})
            continue
        if _per_commune(d):
            factor = _denominator_factor(num_code)
            base = {u: max(1.0, round(size[u] * factor * rng_i.uniform(0.8, 1.2))) for u in units}
            for m, at in published:
                nums = allocate(base, spread(path[m - 1] / 100, base, offsets))
                for u in units:
                    num, den = nums[u], base[u]
                    yield record(num_code, u, m, at, round(num / den * 100, 2), num, den)
            continue
        den0 = _city_denominator(num_code, rng_i)
        for m, at in published:
            den = float(round(den0 * (1 + 0.002 * m)))
            num = float(min(den, round(den * path[m - 1] / 100)))
            yield record(num_code, CITY, m, at, round(num / den * 100, 2), num, den)

