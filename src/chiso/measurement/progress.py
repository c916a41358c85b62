"""How far a target has come: its bound indicators' values against the threshold, for the city
and, for ``level: implementing`` bindings, each implementing unit, over each judged period.

The API and the target page both call :func:`target_progress`, so they show the same numbers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from chiso.catalog.indicators import Measurement
from chiso.measurement import values as mv
from chiso.store.tables import assignments
from chiso.store.tables import units as t_units


def target_progress(conn: Connection, m: Measurement, target: dict[str, Any],
                    today: date) -> dict[str, Any] | None:
    """Progress of a target row (as ``catalog_reads.get_target`` returns it); None when the
    catalog binds no indicator to it and does not list it as awaiting data."""
    pb = m.plans.get(target["plan_number"])
    binding = pb.bindings.get(target["id"]) if pb else None
    if binding is None:
        return None
    base = {"plan": target["plan_number"], "plan_key": target["plan_key"],
            "target": target["id"], "direction": target["direction"],
            "threshold": float(target["threshold"]),
            "unit_of_measure": target["unit_of_measure"],
            "deadline": str(target["deadline"])}
    if binding.awaiting_data:
        return {**base, "awaiting_data": binding.awaiting_data, "indicators": []}
    deadline = date.fromisoformat(str(target["deadline"]))
    periods = mv.judged_periods(binding, deadline, today)
    units: list[str] = []
    if binding.level == "implementing":  # every implementing unit, groups expanded
        units = sorted({code for (code,) in conn.execute(
            select(assignments.c.unit_code)
            .join(t_units, t_units.c.code == assignments.c.unit_code)
            .where(assignments.c.plan_key == target["plan_key"],
                   assignments.c.item_kind == "target", assignments.c.item_id == target["id"],
                   assignments.c.role == "implementing", t_units.c.is_group.is_(False)))})
    elif binding.level == "records":  # every unit on the records, whoever implements
        units = record_units(conn, m, binding.indicators[0], periods, today)
    threshold = target["threshold"]
    indicators = []
    for code in binding.indicators:
        rows = []
        for period in periods:
            for scope in [None, *units]:
                got = mv.values(conn, m, code, period, scope, "unit" if scope else "city",
                                today=today)
                v = got[0] if got else None
                rows.append({"unit": scope, "period": period,
                             "value": v.value if v else None,
                             "records": v.records if v else 0,
                             "as_of": v.as_of.isoformat() if v and v.as_of else None,
                             "source": v.source if v else None,
                             "covers": v.covers if v else None,
                             "met": mv.met(target["direction"], v.value if v else None,
                                           threshold)})
        indicators.append({"indicator": code, "name_vi": m.indicators[code].name_vi,
                           "name_en": m.indicators[code].name_en, "values": rows})
    return {**base, "level": binding.level, "periods": periods, "note": binding.note,
            "note_vi": binding.note_vi,
            "indicators": indicators}


def record_units(conn: Connection, m: Measurement, code: str, periods: list[str],
                 today: date) -> list[str]:
    """The units on the records of indicator ``code`` in any of ``periods``: the per-unit
    scope of a ``level: records`` binding."""
    return sorted({v.unit for p in periods
                   for v in mv.values(conn, m, code, p, level="units", today=today)
                   if v.unit is not None and v.records})
