"""The SME programme on a commune's page (plan 232): what the commune's enterprises received
and what changed for them, since the plan began and this year, beside the whole city.

Every number is a value of :mod:`chiso.measurement.values` (the same as the values API): a
distinct count of enterprises over 2026-to-today counts an enterprise supported several times
once, in the commune as in the city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from chiso.catalog.loader import Catalog
from chiso.measurement import values as mv

PLAN = "232/KH-UBND"
ROWS = ["sme.enterprises_supported", "sme.enterprises_applying_digital",
        "sme.enterprises_readiness_raised", "sme.contracts_signed", "sme.support_given",
        "sme.exemplary_enterprises"]


@dataclass(frozen=True)
class SmeRow:
    code: str
    name_vi: str
    name_en: str
    unit_of_measure: str
    since_start: float | None  # the commune, from the plan's start to today
    this_year: float | None  # the commune, this year to date
    city_since_start: float | None


def _one(conn: Connection, catalog: Catalog, code: str, period: str, unit: str | None,
         today: date) -> float | None:
    assert catalog.measurement is not None
    got = mv.values(conn, catalog.measurement, code, period, unit,
                    "unit" if unit else "city", today=today)
    return got[0].value if got else None


def unit_sme_section(conn: Connection, catalog: Catalog, unit: str, today: date
                     ) -> dict[str, Any] | None:
    """The section's rows and periods for ``unit``; None when the catalog does not measure
    plan 232 or the unit has no SME record at all."""
    m = catalog.measurement
    pb = m.plans.get(PLAN) if m else None
    if m is None or pb is None:
        return None
    start = pb.bindings["T1"].window_start or f"{today.year}-01-01"
    since = f"{start}..{today.isoformat()}"
    ytd = f"{today.year}-YTD"
    rows = []
    for code in ROWS:
        ind = m.indicators[code]
        rows.append(SmeRow(code, ind.name_vi, ind.name_en, ind.unit_of_measure,
                           _one(conn, catalog, code, since, unit, today),
                           _one(conn, catalog, code, ytd, unit, today),
                           _one(conn, catalog, code, since, None, today)))
    if all(r.since_start is None for r in rows):
        return None
    return {"since": since, "ytd": ytd, "start": start, "rows": rows}
