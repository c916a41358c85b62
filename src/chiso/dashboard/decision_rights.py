"""Who records decisions and whose decisions they may read, as the access policy says: the
API and the pages ask here, so both doors give the same answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from chiso.access.policy import Rule, rule_for
from chiso.access.roles import LEADER, Principal
from chiso.catalog.loader import Catalog
from chiso.dashboard import decisions as log


def _rule(method: str, path: str) -> Rule:
    found = rule_for(method, path)
    assert found is not None, f"no access rule for {method} {path}"
    return found


#: The roles the policy lets read decisions' texts, and record decisions.
READERS = _rule("GET", "/api/v1/decisions").roles
WRITERS = _rule("POST", "/api/v1/decisions").roles
#: The roles that acknowledge a decision for the unit it names as the one that must act.
ACKNOWLEDGERS = _rule("POST", "/api/v1/decisions/{decision_id}/acknowledge").roles


def recorder(who: Principal, unit: str | None) -> tuple[str, str | None]:
    """(role, unit) of the one recording: the unit when all their recording grants are
    limited to units (one of them: ``unit`` chooses when they hold several)."""
    held = who.roles & WRITERS
    role = LEADER if LEADER in held else min(held)
    units = who.scope(WRITERS)
    if units is None:
        return role, None
    if unit in units:
        return role, unit
    if len(units) == 1:
        return role, next(iter(units))
    raise log.DecisionError("unit", "choose one of your units: {units}",
                            units=", ".join(sorted(units)))


def readable_unit(who: Principal, unit: str | None) -> tuple[bool, str | None]:
    """May this principal read decisions' texts, and limited to which unit (None: all)."""
    if not who.allowed(READERS):
        return False, None
    units = who.scope(READERS)
    if units is None:
        return True, unit or None
    return True, unit if unit in units else min(units)


def record_by(engine: Engine, catalog: Catalog, who: Principal,
              fields: dict[str, Any]) -> dict[str, Any]:
    """Record a decision in ``who``'s name (``fields`` as :func:`decisions.record` takes
    them, with ``unit`` choosing among the recorder's units)."""
    role, unit = recorder(who, fields.pop("unit", None))
    with engine.begin() as conn:
        return log.record(conn, catalog, actor=who.actor, role=role, unit=unit, **fields)


def acknowledge_by(engine: Engine, who: Principal, decision_id: int,
                   note: str | None) -> dict[str, Any]:
    """Acknowledge decision ``decision_id`` for the unit it names, in ``who``'s name (one of
    that unit's officers); :class:`decisions.DecisionError` says why not."""
    with engine.begin() as conn:
        return log.acknowledge(conn, decision_id, actor=who.actor, note=note,
                               units=who.scope(ACKNOWLEDGERS))
