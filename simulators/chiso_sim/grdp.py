"""The city statistics office publishing commune GRDP every quarter (QĐ 3060/QĐ-UBND), as the
``stats.grdp`` contract describes it.

    records = grdp_releases(seed=2026, year=2026, now=datetime.now(VN))

Each quarter's release (about 20 days after the quarter ends) carries, for every commune and
for the city: the quarter and, from the second quarter, the cumulative 6, 9 or 12 months; the
total, the taxes on products and the 3 economic sectors; at current and comparable prices.
The first release also carries the previous year's figures, so that growth can be computed.
Each release from the second on revises the previous quarter's comparable figures a little
(a revision: same key, later ``released_at``). The city total the office publishes is not
the exact sum of the communes (value added not allocated to a commune), so the
reconciliation has a gap to show. At current prices a release also carries the office's
estimate of the digital economy's value added, per economic sector (``KTS-KV1..3``, a share of
the sector's value added that differs between communes) and in total (``KTS``); a revision
raises the revised quarter's estimate by 3%. Deterministic for a seed.
"""

from __future__ import annotations

import random
import zlib
from datetime import date, datetime, time, timedelta
from typing import Any

from chiso_sim.hanoi import VN, communes

CITY = "UBNDTP"
SHARES = {"KV1": 0.02, "KV2": 0.22, "KV3": 0.66, "TSP": 0.10}
CUMULATIVE = {2: "6T", 3: "9T", 4: "12T"}
# the digital economy's share of each sector's value added (plan 131: II.1 22%, II.2 15%)
DIGITAL = {"KV1": 0.13, "KV2": 0.19, "KV3": 0.26}
REVISED_DIGITAL = 1.03  # a revision's estimate of the digital economy against the first


def _digital_tilt(unit: str) -> float:
    """A commune's own digital intensity, around the city's (stable for a unit code)."""
    return 1.0 if unit == CITY else 0.8 + (zlib.crc32(unit.encode()) % 41) / 100


def _released(year: int, quarter: int) -> datetime:
    end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    return datetime.combine(end + timedelta(days=19), time(9, 0), tzinfo=VN)


def _quarter_figures(seed: int, year: int) -> dict[tuple[str, int], dict[str, float]]:
    """Current-price figures per (commune, quarter) of ``year`` and the year before."""
    rng = random.Random(seed + 3060)
    out: dict[tuple[str, int], dict[str, float]] = {}
    for code, name in communes():
        base = rng.lognormvariate(7.2 if name.startswith("Phường") else 6.4, 0.5)  # bn dong
        tilt = rng.uniform(-0.5, 0.5)
        for q in range(1, 5):
            season = 1 + 0.04 * (q - 2.5)
            for y, grow in ((year - 1, 1.0), (year, 1 + rng.uniform(0.03, 0.11))):
                total = base * season * grow
                kv1 = SHARES["KV1"] * (1 - tilt) * 2 if not name.startswith("Phường") else 0.005
                shares = {"KV1": kv1, "KV2": SHARES["KV2"] * (1 + tilt),
                          "TSP": SHARES["TSP"]}
                shares["KV3"] = 1 - sum(shares.values())
                out[(code, y * 10 + q)] = {k: round(total * s, 1) for k, s in shares.items()}
    return out


def _records(unit: str, period: str, figures: dict[str, float], deflator: float,
             release: str, at: datetime, digital: float = 1.0) -> list[dict[str, Any]]:
    total = round(sum(figures.values()), 1)
    kts = {f"KTS-{k}": round(figures[k] * share * _digital_tilt(unit) * digital, 1)
           for k, share in DIGITAL.items()}
    estimate = [("KTS", round(sum(kts.values()), 1)), *kts.items()]
    out = []
    for basis, factor in (("current", 1.0), ("comparable", 1 / deflator)):
        for sector, v in [("TOTAL", total), *figures.items(),
                          *(estimate if basis == "current" else [])]:
            out.append({"unit": unit, "period": period, "sector": sector,
                        "price_basis": basis, "value": round(v * factor, 1),
                        "release": release, "released_at": at.isoformat()})
    return out


def grdp_releases(seed: int, year: int, now: datetime) -> list[dict[str, Any]]:
    """The ``stats.grdp`` records released by ``now`` for ``year``, oldest first."""
    figs = _quarter_figures(seed, year)
    units = [code for code, _ in communes()]
    out: list[dict[str, Any]] = []

    def period_figures(unit: str, y: int, quarters: range) -> dict[str, float]:
        return {k: round(sum(figs[(unit, y * 10 + q)][k] for q in quarters), 1)
                for k in SHARES}

    def publish(y: int, q: int, release: str, at: datetime, deflator: float,
                scale: float = 1.0, digital: float = 1.0) -> None:
        spans = [(f"{y}-Q{q}", range(q, q + 1))]
        if q in CUMULATIVE:
            spans.append((f"{y}-{CUMULATIVE[q]}", range(1, q + 1)))
        for period, quarters in spans:
            city = dict.fromkeys(SHARES, 0.0)
            for u in units:
                f = {k: round(v * scale, 1) for k, v in period_figures(u, y, quarters).items()}
                out.extend(_records(u, period, f, deflator, release, at, digital))
                for k in SHARES:
                    city[k] += f[k]
            unallocated = {k: round(v * 1.015, 1) for k, v in city.items()}  # not in a commune
            out.extend(_records(CITY, period, unallocated, deflator, release, at, digital))

    for q in range(1, 5):
        at = _released(year, q)
        if at > now:
            break
        release = f"Thông cáo Tổng sản phẩm trên địa bàn cấp xã quý {q}/{year}"
        deflator = 1 + 0.01 * q
        if q == 1:
            for pq in range(1, 5):  # the previous year, for growth
                publish(year - 1, pq, release, at, 1.0)
        else:  # a revision of last quarter's figures, in this release
            publish(year, q - 1, f"{release} (điều chỉnh quý {q - 1})", at, 1 + 0.01 * (q - 1),
                    1.004, REVISED_DIGITAL)
        publish(year, q, release, at + timedelta(minutes=1), deflator)
    return sorted(out, key=lambda r: r["released_at"])
