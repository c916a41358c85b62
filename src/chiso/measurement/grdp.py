"""Commune GRDP (QĐ 3060/QĐ-UBND): what is computed from the figures the city statistics
office publishes (feed ``stats.grdp``; the breakdown in
``data/classifications/grdp-sectors.yaml``).

* growth: against the same period of the previous year, at comparable prices, for a quarter
  and the cumulative 6, 9 and 12 months: ``(value / value a year earlier - 1) * 100``;
* structure: each economic sector's (and taxes on products') share of the GRDP at current
  prices, in %;
* the digital economy's share: its value added (KTS, KTS-KV1, …) over the figure it belongs
  to (TOTAL, KV1, …), at current prices, in % (plan 131's II.1 and II.2 read it as indicators,
  ``data/indicators/stats.yaml``);
* reconciliation: the sum of the communes against the city total the office publishes, with
  the gap (city minus communes) shown, never spread over the communes.

Figures are the current release of each (unit, period, sector, price basis); every earlier
release stays in the versions table (:func:`history`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, func, select

from chiso.store.tables import feed_stats_grdp, feed_stats_grdp_versions

CITY = "UBNDTP"
TOTAL = "TOTAL"
STRUCTURE = ["KV1", "KV2", "KV3", "TSP"]
CLASSIFICATION = (Path(__file__).resolve().parent.parent / "data" / "classifications"
                  / "grdp-sectors.yaml")
_PERIOD = re.compile(r"^(\d{4})-(Q[1-4]|6T|9T|12T)$")


class GrdpError(ValueError):
    """A period that is not a GRDP period; the message gives the accepted forms."""


@lru_cache
def classification() -> dict[str, Any]:
    """The aggregates, the 3 sectors and the level-1 industries with their sector."""
    data: dict[str, Any] = yaml.safe_load(CLASSIFICATION.read_text(encoding="utf-8"))
    return data


def previous_year(period: str) -> str:
    """2026-Q3 -> 2025-Q3; 2026-9T -> 2025-9T."""
    m = _PERIOD.match(period)
    if m is None:
        raise GrdpError(f"{period!r} is not a GRDP period; write 2026-Q3, 2026-6T, 2026-9T or "
                        "2026-12T")
    return f"{int(m[1]) - 1}-{m[2]}"


def figure(conn: Connection, unit: str, period: str, sector: str, basis: str) -> float | None:
    """The current release's value, or None when not published."""
    t = feed_stats_grdp
    v = conn.execute(select(t.c.value).where(
        t.c.unit == unit, t.c.period == period, t.c.sector == sector,
        t.c.price_basis == basis)).scalar()
    return None if v is None else float(v)


def growth(conn: Connection, unit: str, period: str, sector: str = TOTAL) -> float | None:
    """Growth in % against the same period of the previous year, at comparable prices."""
    now = figure(conn, unit, period, sector, "comparable")
    before = figure(conn, unit, previous_year(period), sector, "comparable")
    if now is None or not before:
        return None
    return (now / before - 1) * 100


def structure(conn: Connection, unit: str, period: str) -> dict[str, float] | None:
    """Each sector's share of the GRDP at current prices, in %; None without the total."""
    previous_year(period)  # refuses a malformed period
    total = figure(conn, unit, period, TOTAL, "current")
    if not total:
        return None
    out = {}
    for code in STRUCTURE:
        v = figure(conn, unit, period, code, "current")
        if v is not None:
            out[code] = v / total * 100
    return out


def digital_shares(conn: Connection, unit: str, period: str) -> dict[str, float]:
    """The digital economy's value added as a share, in %, of the GRDP figure it belongs to
    (``digital_economy`` in the classification: KTS of TOTAL, KTS-KV1 of KV1, …), at current
    prices, for each one the release carries with its base; empty when none."""
    previous_year(period)
    out = {}
    for item in classification()["digital_economy"]:
        part = figure(conn, unit, period, item["code"], "current")
        base = figure(conn, unit, period, item["of"], "current")
        if part is not None and base:
            out[item["code"]] = part / base * 100
    return out


@dataclass(frozen=True)
class Reconciliation:
    period: str
    sector: str
    price_basis: str
    city: float | None  # the city total as published
    communes: float  # the sum of the communes' figures
    communes_reporting: int
    gap: float | None  # city - communes; never hidden, never spread

    @property
    def gap_pct(self) -> float | None:
        return None if self.gap is None or not self.city else self.gap / self.city * 100


def reconcile(conn: Connection, period: str, basis: str = "current",
              sector: str = TOTAL) -> Reconciliation:
    previous_year(period)
    t = feed_stats_grdp
    total, n = conn.execute(select(func.sum(t.c.value), func.count()).where(
        t.c.unit != CITY, t.c.period == period, t.c.sector == sector,
        t.c.price_basis == basis)).one()
    city = figure(conn, CITY, period, sector, basis)
    communes = float(total or 0.0)
    return Reconciliation(period, sector, basis, city, communes, int(n),
                          None if city is None else city - communes)


def history(conn: Connection, unit: str, period: str, sector: str, basis: str
            ) -> list[tuple[str, datetime, float]]:
    """Every release of one figure, oldest first: (release, released_at, value)."""
    t = feed_stats_grdp_versions
    rows = conn.execute(select(t.c.release, t.c.released_at, t.c.value).where(
        t.c.unit == unit, t.c.period == period, t.c.sector == sector,
        t.c.price_basis == basis).order_by(t.c.released_at))
    return [(r.release, r.released_at, float(r.value)) for r in rows]


def figures(conn: Connection, period: str, sector: str = TOTAL, basis: str = "current"
            ) -> dict[str, float]:
    """Every unit's current figure for one period, sector and price basis, by unit."""
    previous_year(period)
    t = feed_stats_grdp
    return {u: float(v) for u, v in conn.execute(select(t.c.unit, t.c.value).where(
        t.c.period == period, t.c.sector == sector, t.c.price_basis == basis))}


def growths(conn: Connection, period: str, sector: str = TOTAL) -> dict[str, float]:
    """Every unit's growth in % against the same period a year earlier (comparable prices)."""
    now = figures(conn, period, sector, "comparable")
    before = figures(conn, previous_year(period), sector, "comparable")
    return {u: (v / before[u] - 1) * 100 for u, v in now.items() if before.get(u)}


_END = {"Q1": (3, 31), "Q2": (6, 30), "Q3": (9, 30), "Q4": (12, 31), "6T": (6, 30),
        "9T": (9, 30), "12T": (12, 31)}


def period_end(period: str) -> date:
    """The last day a GRDP period covers: 2026-Q3 and 2026-9T -> 30/09/2026."""
    previous_year(period)
    year, part = period.split("-")
    month, day = _END[part]
    return date(int(year), month, day)


def latest_quarter(conn: Connection, until: date) -> str | None:
    """The latest quarter with a published total that ends on or before ``until``."""
    t = feed_stats_grdp
    periods = [p for (p,) in conn.execute(select(t.c.period).distinct().where(
        t.c.sector == TOTAL, t.c.period.like("%-Q%")))]
    ended = [p for p in periods if _PERIOD.match(p) and period_end(p) <= until]
    return max(ended, key=period_end) if ended else None
