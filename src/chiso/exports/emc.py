"""The EMC payload (``chiso.emc/1``, docs/emc.md): what the Ministry's measurement system
(EMC) collects for a period and a unit: the unit's indicator values and its ranks and points by
each scoring method, as the open datasets ``indicator-values`` and ``scores`` give them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from chiso.config import Exporter
from chiso.context import Runtime
from chiso.exports import datasets as ds
from chiso.measurement.periods import Period
from chiso.measurement.values import CITY
from chiso.store import catalog_reads as reads
from chiso.store import outbox

SCHEMA = "chiso.emc/1"
EVENT = "emc.report"
PROVINCE = {"code": "01", "name": "Thành phố Hà Nội"}
ALL_UNITS = "all"

#: Fields of a row that are figures: a change in one of them is a new content version.
INDICATOR_FIGURES = ("indicator", "value", "unit_of_measure", "numerator", "denominator",
                     "records")
SCORE_FIGURES = ("method", "method_version", "kind", "rank", "of", "points", "max_points",
                 "missing", "provisional")


def plain(v: Any) -> Any:
    """A value as JSON carries it: instants in UTC ISO 8601, days ISO 8601."""
    if isinstance(v, datetime):
        return outbox.utc(v).isoformat()
    return v.isoformat() if isinstance(v, date) else v


def period_part(p: Period) -> dict[str, str]:
    return {"code": p.label, "kind": p.kind, "start": p.start.isoformat(),
            "end": p.end.isoformat()}


def unit_part(unit: str, known: dict[str, Any]) -> dict[str, Any]:
    return {"code": unit, "name": known.get("name"), "name_en": known.get("name_en"),
            "kind": "city" if unit == CITY else known.get("kind")}


def indicator_part(row: dict[str, Any]) -> dict[str, Any]:
    """An ``indicator-values`` row as a payload carries it."""
    return {**{k: plain(row[k]) for k in INDICATOR_FIGURES},
            "name_vi": row["indicator_name_vi"], "name_en": row["indicator_name_en"],
            "as_of": plain(row["as_of"]), "feeds": row["feeds"].split(";")}


def head(rt: Runtime, schema: str, exporter: Exporter, p: Period, unit: str,
         names: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What every exporter's payload for one unit and period opens with."""
    return {"schema": schema, "exporter": exporter.name, "province": PROVINCE,
            "period": period_part(p), "unit": unit_part(unit, names.get(unit, {})),
            "catalog_version": rt.catalog.digest}


def unit_names(rt: Runtime) -> dict[str, dict[str, Any]]:
    with rt.engine.connect() as conn:
        return {u["code"]: u for u in reads.list_units(conn)}


def payloads(rt: Runtime, exporter: Exporter, p: Period, today: date
             ) -> dict[str, dict[str, Any]]:
    """``{unit: payload}`` for period ``p`` (without version); a unit with no figure is left
    out."""
    values = ds.table(rt, ds.INDICATOR_VALUES.id, p.label, today).rows
    scores = ds.table(rt, ds.SCORES.id, p.label, today).rows
    wanted = set(exporter.indicators)
    if wanted:
        values = [r for r in values if r["indicator"] in wanted]
    every = ALL_UNITS in exporter.units
    units = sorted({r["unit"] for r in values} | {r["unit"] for r in scores}) if every \
        else sorted(set(exporter.units))
    names = unit_names(rt)
    out: dict[str, dict[str, Any]] = {}
    for unit in units:
        mine = [r for r in values if r["unit"] == unit]
        ranked = [r for r in scores if r["unit"] == unit]
        if not mine and not ranked:
            continue
        out[unit] = {
            **head(rt, SCHEMA, exporter, p, unit, names),
            "indicators": [indicator_part(r) for r in sorted(mine, key=lambda r: r["indicator"])],
            "scores": [{**{k: plain(r[k]) for k in SCORE_FIGURES}, "as_of": plain(r["as_of"])}
                       for r in sorted(ranked, key=lambda r: (r["method"], r["kind"]))],
        }
    return out


def figures(body: dict[str, Any]) -> Any:
    """The figures of an EMC payload (not its as-of times)."""
    return {"period": body["period"]["code"], "unit": body["unit"]["code"],
            "indicators": [{k: i[k] for k in INDICATOR_FIGURES} for i in body["indicators"]],
            "scores": [{k: s[k] for k in SCORE_FIGURES} for s in body["scores"]]}
