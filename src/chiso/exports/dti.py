"""The DTI payload (``chiso.dti/1``, docs/emc.md "The payload: chiso.dti/1"): a unit's
digital-transformation index for the Ministry's DTI collection: its total, rank and pillars
(the groups of the scoring method the exporter names, ``dx-5279`` by default) with every
criterion's points, value and missing marker, and the indicator values behind them.

Built from the scoring room's typed answers (``ranking``, ``unit_score``) and the open
dataset ``indicator-values``, as the pages and the API read them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from chiso.config import Exporter
from chiso.context import Runtime
from chiso.exports import datasets as ds
from chiso.exports.emc import (
    ALL_UNITS,
    INDICATOR_FIGURES,
    head,
    indicator_part,
    plain,
    unit_names,
)
from chiso.measurement.periods import Period
from chiso.scoring import answers as scoring
from chiso.scoring.answers import ScoreNode, ScoringError

SCHEMA = "chiso.dti/1"
EVENT = "dti.report"

#: Fields of the index, a pillar and a criterion that are figures (a change is a new version).
INDEX_FIGURES = ("method", "method_version", "kind", "points", "max_points", "rank", "of",
                 "missing", "provisional")
NODE_FIGURES = ("code", "points", "max_points", "value", "missing", "excluded")


def _criterion(node: ScoreNode) -> dict[str, Any]:
    return {"code": node.code, "name": node.name, "points": node.points,
            "max_points": node.max_points, "value": node.value, "missing": node.missing,
            "stale": node.stale, "excluded": node.excluded, "source": node.source}


def _leaves(node: ScoreNode) -> list[ScoreNode]:
    if not node.children:
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


def _pillar(node: ScoreNode) -> dict[str, Any]:
    leaves = _leaves(node)
    return {"code": node.code, "name": node.name, "points": node.points,
            "max_points": node.max_points, "missing": sum(1 for n in leaves if n.missing),
            "criteria": [_criterion(n) for n in leaves]}


def payloads(rt: Runtime, exporter: Exporter, p: Period, today: date
             ) -> dict[str, dict[str, Any]]:
    """``{unit: payload}`` for period ``p`` (without version): every unit the method ranks
    (``units: ["all"]``) or the units named that it ranks; a unit it does not rank is left
    out. An unknown method is a :class:`~chiso.scoring.answers.ScoringError`."""
    methods = rt.catalog.methods
    if methods is None or exporter.method not in methods.versions:
        raise ScoringError(f"exporter {exporter.name!r}: no scoring method "
                           f"{exporter.method!r} in the catalog")
    try:
        kinds = methods.in_force(exporter.method, p.end).kinds
    except KeyError:
        return {}  # no version of the method covers the period
    ranked: dict[str, scoring.Ranking] = {}
    for kind in kinds:
        answer = scoring.ranking(rt, exporter.method, kind, p, today)
        for row in answer.units:
            ranked[row.unit] = answer
    wanted = sorted(ranked) if ALL_UNITS in exporter.units else sorted(
        u for u in set(exporter.units) if u in ranked)
    values = ds.table(rt, ds.INDICATOR_VALUES.id, p.label, today).rows
    if exporter.indicators:
        chosen = set(exporter.indicators)
        values = [r for r in values if r["indicator"] in chosen]
    names = unit_names(rt)
    out: dict[str, dict[str, Any]] = {}
    with rt.engine.connect() as conn:
        for unit in wanted:
            answer = ranked[unit]
            tree = scoring.unit_score(conn, rt, exporter.method, unit, p, today)
            row = next(r for r in answer.units if r.unit == unit)
            out[unit] = {
                **head(rt, SCHEMA, exporter, p, unit, names),
                "index": {"method": exporter.method, "method_version": answer.version,
                          "name": tree.tree.name, "kind": answer.kind, "points": row.points,
                          "max_points": tree.max_points, "rank": row.rank,
                          "of": len(answer.units), "missing": row.missing,
                          "provisional": answer.provisional, "stored": answer.stored,
                          "as_of": plain(row.computed_at)},
                "pillars": [_pillar(n) for n in tree.tree.children or []],
                "indicators": [indicator_part(r) for r in sorted(
                    (r for r in values if r["unit"] == unit), key=lambda r: r["indicator"])],
            }
    return out


def figures(body: dict[str, Any]) -> Any:
    """The figures of a DTI payload (not its as-of times nor names)."""
    return {"period": body["period"]["code"], "unit": body["unit"]["code"],
            "index": {k: body["index"][k] for k in INDEX_FIGURES},
            "pillars": [{**{k: p[k] for k in ("code", "points", "max_points")},
                         "criteria": [{k: c[k] for k in NODE_FIGURES} for c in p["criteria"]]}
                        for p in body["pillars"]],
            "indicators": [{k: i[k] for k in INDICATOR_FIGURES} for i in body["indicators"]]}
