"""A commune's economy on its page (QĐ 3060): the latest quarter the statistics office has
published for it and the cumulative months of that year, with GRDP at current prices, growth
at comparable prices against a year earlier, the structure by sector, and the digital
economy's share of the GRDP (and of each economic sector's value added) where the release
carries the office's estimate (plan 131's II.1 and II.2, for this commune). Every number comes
from :mod:`chiso.measurement.grdp`."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select

from chiso.measurement import grdp
from chiso.store.tables import feed_stats_grdp

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
CUMULATIVE = {2: "6T", 3: "9T", 4: "12T"}
# the digital economy's codes of the 3 economic sectors, with the sector each belongs to
_SECTOR_SHARES = [(d["code"], d["of"]) for d in grdp.classification()["digital_economy"]
                  if d["of"] in {s["code"] for s in grdp.classification()["sectors"]}]


def unit_grdp_section(conn: Connection, unit: str) -> dict[str, Any] | None:
    """The latest published quarter's rows for ``unit``; None when nothing is published."""
    t = feed_stats_grdp
    periods = [p for (p,) in conn.execute(select(t.c.period).distinct().where(
        t.c.unit == unit, t.c.sector == grdp.TOTAL))]
    quarters = sorted((int(m[1]), int(m[2])) for p in periods if (m := _QUARTER.match(p)))
    if not quarters:
        return None
    year, q = quarters[-1]
    shown = [f"{year}-Q{q}"] + ([f"{year}-{CUMULATIVE[q]}"] if q in CUMULATIVE else [])
    rows = [{"period": p, "value": grdp.figure(conn, unit, p, grdp.TOTAL, "current"),
             "growth": grdp.growth(conn, unit, p),
             "digital": grdp.digital_shares(conn, unit, p).get("KTS")} for p in shown]
    names = {s["code"]: s for s in [*grdp.classification()["sectors"],
                                    *grdp.classification()["aggregates"]]}
    shares = grdp.structure(conn, unit, shown[0]) or {}
    digital = grdp.digital_shares(conn, unit, shown[0])
    return {"rows": rows, "quarter": shown[0],
            "has_digital": any(r["digital"] is not None for r in rows),
            "digital_sectors": [{"code": c, "name_vi": names[of]["name_vi"],
                                 "name_en": names[of]["name_en"], "share": digital[c]}
                                for c, of in _SECTOR_SHARES if c in digital],
            "structure": [{"code": c, "name_vi": names[c]["name_vi"],
                           "name_en": names[c]["name_en"], "share": v}
                          for c, v in shares.items()]}
