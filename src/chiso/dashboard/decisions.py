"""The decision log (task 2.1.1 of plan 131: the city "can count how many operational
decisions were taken from the dashboard"). See docs/dashboard-decisions.md.

A leader records a decision taken from a dashboard tile: the text, who, when, the tile and the
values the tile showed (``seen``). Decisions are append-only: a correction is a new decision
whose ``corrects`` names the one it replaces, and the counts count only decisions not
corrected since (a corrected decision is replaced by its correction, not added to it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from chiso.catalog.dashboard import Tile
from chiso.catalog.loader import Catalog
from chiso.clock import VIETNAM
from chiso.store.tables import decision_acks, decisions, targets, tasks
from chiso.text import read_json

MAX_TEXT = 4000
MAX_SEEN_JSON = 2000
SEEN_KEYS = ("value", "target", "status", "as_of", "period", "unit_of_measure")
FUTURE_SLACK = timedelta(minutes=5)  # clocks differ a little between a browser and the server
EARLIEST = datetime(2020, 1, 1, tzinfo=VIETNAM)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class DecisionError(ValueError):
    """A decision that cannot be recorded; ``field`` names the input at fault. ``template``
    is an English sentence with ``{name}`` places filled from ``values`` (``message``): pages
    translate the template, then fill it."""

    def __init__(self, field: str, template: str, **values: object) -> None:
        self.field = field
        self.template = template
        self.values = values
        self.message = template.format(**values)
        super().__init__(f"{field}: {self.message}")


def tiles(catalog: Catalog) -> dict[str, Tile]:
    """The tiles a decision may be taken from: the dashboard's, as the catalog holds them."""
    return catalog.dashboard.tiles if catalog.dashboard is not None else {}


def month_of(moment: datetime) -> str:
    """YYYY-MM of a moment, in Vietnam time (what the counts group by)."""
    return moment.astimezone(VIETNAM).strftime("%Y-%m")


def check_month(value: str) -> str:
    if not MONTH.match(value):
        raise DecisionError("month", "{value} is not a month (YYYY-MM)", value=value)
    return value


def vietnam_time(value: str | datetime) -> datetime:
    """An instant (ISO text or datetime; naive means UTC, as stored) in Vietnam time."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return _utc(at).astimezone(VIETNAM)


def parse_day(value: str) -> date:
    return date.fromisoformat(value[:10])


def last_months(n: int, now: datetime | None = None) -> list[str]:
    """The ``n`` months up to and including the current one (Vietnam time), oldest first."""
    current = (now or datetime.now(UTC)).astimezone(VIETNAM)
    year, month = current.year, current.month
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


# -- validation ---------------------------------------------------------------------------------
def _moment(value: str | datetime | None, now: datetime) -> datetime:
    if value is None or value == "":
        return now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise DecisionError("taken_at", "{value} is not a date and time "
                                            "(ISO 8601, e.g. 2026-11-23T14:05)",
                                value=value) from exc
    if value.tzinfo is None:  # as a person in Hanoi writes it
        value = value.replace(tzinfo=VIETNAM)
    if value > now + FUTURE_SLACK:
        raise DecisionError("taken_at", "a decision cannot be taken in the future")
    if value < EARLIEST:
        raise DecisionError("taken_at", "before 2020: not a decision from this dashboard")
    return value.astimezone(UTC)


def _day(value: str | date | None, taken: datetime) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError as exc:
            raise DecisionError("follow_up", "{value} is not a date (YYYY-MM-DD)",
                                value=value) from exc
    if value < taken.astimezone(VIETNAM).date():
        raise DecisionError("follow_up", "the follow-up date is before the decision")
    return value


def _scalar(key: str, value: Any, limit: int = 64) -> str | int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise DecisionError(f"seen.{key}", "a number or a short text, not true/false")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DecisionError(f"seen.{key}", "not a finite number")
        return value
    if isinstance(value, str) and len(value) <= limit:
        return value
    raise DecisionError(f"seen.{key}", "a number or a text of at most {limit} characters",
                        limit=limit)


def check_seen(seen: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The tile's values as the leader saw them: ``value`` (required, may be null),
    ``target``, ``status``, ``as_of``, ``period``, ``unit_of_measure``; nothing else."""
    if isinstance(seen, str):
        try:
            seen = read_json(seen) if seen.strip() else None
        except ValueError as exc:
            raise DecisionError("seen", "not JSON") from exc
    if not isinstance(seen, Mapping):
        raise DecisionError("seen", "the tile's values as seen are required: an object with "
                                    "{keys}", keys=", ".join(SEEN_KEYS))
    unknown = sorted(set(seen) - set(SEEN_KEYS))
    if unknown:
        raise DecisionError(f"seen.{unknown[0]}", "not a value a tile shows; allowed: {keys}",
                            keys=", ".join(SEEN_KEYS))
    if "value" not in seen:
        raise DecisionError("seen.value", "required (null when the tile showed no value)")
    out: dict[str, Any] = {"value": _scalar("value", seen["value"])}
    if "target" in seen:
        out["target"] = _scalar("target", seen["target"])
    for key in ("status", "period", "unit_of_measure"):
        if key in seen:
            found = _scalar(key, seen[key], 32)
            if found is not None and not isinstance(found, str):
                raise DecisionError(f"seen.{key}", "a text")
            out[key] = found
    if "as_of" in seen and seen["as_of"] is not None:
        as_of = seen["as_of"]
        try:
            datetime.fromisoformat(str(as_of))
        except ValueError as exc:
            raise DecisionError("seen.as_of", "{value} is not an ISO date or time",
                                value=as_of) from exc
        out["as_of"] = str(as_of)
    elif "as_of" in seen:
        out["as_of"] = None
    if len(json.dumps(out, ensure_ascii=False)) > MAX_SEEN_JSON:
        raise DecisionError("seen", "more than {limit} characters", limit=MAX_SEEN_JSON)
    return out


def seen_from_view(view: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a tile shows now (its view from ``chiso.dashboard.board.tile_view``) as a
    decision's ``seen``: the form prefills it. A target shown as a plan target or a goal is
    kept as its threshold."""
    view = view or {}
    out: dict[str, Any] = {}
    for key in SEEN_KEYS:
        value = view.get(key)
        if isinstance(value, Mapping):
            value = value.get("threshold")
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, bool) or (value is not None and not isinstance(
                value, str | int | float)):
            value = str(value)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        if isinstance(value, str):
            value = value[:64] if key in ("value", "target") else value[:32]
        out[key] = value
    return out


def _corrects(conn: Connection, value: int | str | None, unit: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        found = int(value)
    except (TypeError, ValueError) as exc:
        raise DecisionError("corrects", "{value} is not a decision number", value=value) from exc
    row = conn.execute(select(decisions.c.id, decisions.c.unit).where(
        decisions.c.id == found)).first()
    if row is None or (unit is not None and row.unit != unit):  # another unit's: as missing
        raise DecisionError("corrects", "no decision {id}", id=found)
    later = conn.execute(select(decisions.c.id).where(decisions.c.corrects == found)).scalar()
    if later is not None:
        raise DecisionError("corrects", "decision {id} was already corrected by decision "
                                        "{later}: correct that one", id=found, later=later)
    return found


def _links(conn: Connection, plan_key: str | None, target_id: str | None,
           task_id: str | None) -> tuple[str | None, str | None, str | None]:
    plan_key, target_id, task_id = (v.strip() or None if isinstance(v, str) else None
                                    for v in (plan_key, target_id, task_id))
    if (target_id or task_id) and not plan_key:
        raise DecisionError("plan_key", "name the plan of the linked target or task")
    if target_id and conn.execute(select(targets.c.id).where(
            targets.c.plan_key == plan_key, targets.c.id == target_id)).first() is None:
        raise DecisionError("target_id", "no target {id} in plan {plan}", id=target_id,
                            plan=plan_key)
    if task_id and conn.execute(select(tasks.c.id).where(
            tasks.c.plan_key == plan_key, tasks.c.id == task_id)).first() is None:
        raise DecisionError("task_id", "no task {id} in plan {plan}", id=task_id, plan=plan_key)
    if plan_key and not (target_id or task_id):
        raise DecisionError("target_id", "a link names a target or a task of the plan")
    return plan_key, target_id, task_id


# -- writing ------------------------------------------------------------------------------------
def record(conn: Connection, catalog: Catalog, *, tile: str, text: str,
           seen: Mapping[str, Any] | str | None, actor: str, role: str,
           unit: str | None = None, taken_at: str | datetime | None = None,
           corrects: int | str | None = None, follow_up: str | date | None = None,
           plan_key: str | None = None, target_id: str | None = None,
           task_id: str | None = None, acting_unit: str | None = None,
           now: datetime | None = None) -> dict[str, Any]:
    """Validate and store one decision; the stored decision. Raises :class:`DecisionError`
    naming the field at fault. Runs inside the caller's transaction. ``acting_unit`` is the
    unit that must act on it, by the ``follow_up`` date (then required)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tile = (tile or "").strip()
    if not tile:
        raise DecisionError("tile", "required: the tile the decision was taken from")
    if tile not in tiles(catalog):
        raise DecisionError("tile", "no tile {tile} on the dashboard", tile=tile)
    text = (text or "").strip()
    if not text:
        raise DecisionError("text", "required: what was decided")
    if len(text) > MAX_TEXT:
        raise DecisionError("text", "at most {limit} characters ({given} given)", limit=MAX_TEXT,
                            given=len(text))
    checked = check_seen(seen)
    taken = _moment(taken_at, now)
    by = _day(follow_up, taken)
    row = {"tile": tile, "taken_at": taken, "recorded_at": now, "month": month_of(taken),
           "actor": actor, "role": role, "unit": unit, "text": text, "seen": checked,
           "follow_up": by, "corrects": _corrects(conn, corrects, unit)}
    row["plan_key"], row["target_id"], row["task_id"] = _links(conn, plan_key, target_id,
                                                               task_id)
    row["acting_unit"] = _acting_unit(catalog, acting_unit, by)
    new_id = conn.execute(decisions.insert().values(**row)).inserted_primary_key[0]  # type: ignore[index]
    return _public({**row, "id": new_id, "corrected_by": None, "acknowledged": None})


def _acting_unit(catalog: Catalog, code: str | None, by: date | None) -> str | None:
    code = (code or "").strip() or None
    if code is None:
        return None
    if code not in catalog.units.units:
        raise DecisionError("acting_unit", "no unit {code}", code=code)
    if by is None:
        raise DecisionError("follow_up", "required when a unit must act: by when")
    return code


def _utc(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    r = dict(row)
    for key in ("taken_at", "recorded_at"):
        r[key] = _utc(r[key]).isoformat()
    if isinstance(r.get("follow_up"), date):
        r["follow_up"] = r["follow_up"].isoformat()
    seen = r.get("seen")
    r["seen"] = json.loads(seen) if isinstance(seen, str) else seen
    return r


# -- reading ------------------------------------------------------------------------------------
def _current() -> Any:
    """Decisions not corrected since: the ones counted."""
    corrected = select(decisions.c.corrects).where(decisions.c.corrects.is_not(None))
    return decisions.c.id.not_in(corrected)


def listing(conn: Connection, tile: str | None = None, month: str | None = None,
            unit: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Decisions, newest first (corrected ones too, each with ``corrected_by``)."""
    where = []
    if tile:
        where.append(decisions.c.tile == tile)
    if month:
        where.append(decisions.c.month == check_month(month))
    if unit:  # a unit's decisions: those it recorded and those it must act on
        where.append((decisions.c.unit == unit) | (decisions.c.acting_unit == unit))
    total = conn.execute(select(func.count()).select_from(decisions).where(*where)).scalar_one()
    rows = [dict(r) for r in conn.execute(
        select(decisions).where(*where).order_by(decisions.c.taken_at.desc(),
                                                 decisions.c.id.desc())
        .limit(limit).offset(offset)).mappings()]
    ids = [r["id"] for r in rows]
    later: dict[int, int] = {}  # decision -> the decision that corrected it
    if ids:
        for row in conn.execute(select(decisions.c.corrects, decisions.c.id).where(
                decisions.c.corrects.in_(ids))):
            later[row.corrects] = row.id
    acks = acknowledgements(conn, ids)
    return {"total": total, "items": [_public({**r, "corrected_by": later.get(r["id"]),
                                               "acknowledged": acks.get(r["id"])})
                                      for r in rows]}


def value_since(view: Mapping[str, Any], month: str) -> list[dict[str, Any]]:
    """The tile's monthly values from the decision's month on (its trend), then its value
    now: what the follow-up looks at."""
    points = [{"month": p["month"], "value": p["value"]} for p in view.get("trend", [])
              if p.get("month", "") >= month and p.get("value") is not None]
    return [*points, {"month": "now", "value": view.get("value")}]


def acknowledgements(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The acting units' acknowledgements of these decisions: who, when, the note."""
    if not ids:
        return {}
    rows = conn.execute(select(decision_acks).where(decision_acks.c.decision.in_(ids)))
    return {r.decision: {"unit": r.unit, "actor": r.actor, "note": r.note,
                         "at": _utc(r.acknowledged_at).isoformat()} for r in rows}


def acknowledge(conn: Connection, decision_id: int, *, actor: str, units: frozenset[str] | None,
                note: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The acting unit's officer acknowledges a decision (once). ``units``: the officer's
    units (None: any). :class:`DecisionError` names what is wrong: ``decision`` (no such
    decision, none to acknowledge, corrected since, already acknowledged) or ``note``."""
    row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).mappings().first()
    if row is None or (units is not None and row["acting_unit"] not in units):
        raise DecisionError("decision", "no decision {id} for your unit", id=decision_id)
    if row["acting_unit"] is None:
        raise DecisionError("decision", "decision {id} names no unit that must act",
                            id=decision_id)
    later = conn.execute(select(decisions.c.id).where(decisions.c.corrects == decision_id)
                         ).scalar()
    if later is not None:
        raise DecisionError("decision", "decision {id} was corrected by decision {later}: "
                            "acknowledge that one", id=decision_id, later=later)
    done = conn.execute(select(decision_acks).where(decision_acks.c.decision == decision_id)
                        ).first()
    if done is not None:
        raise DecisionError("decision", "decision {id} is already acknowledged",
                            id=decision_id)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_TEXT:
        raise DecisionError("note", "at most {limit} characters ({given} given)",
                            limit=MAX_TEXT, given=len(note))
    at = (now or datetime.now(UTC)).astimezone(UTC)
    conn.execute(decision_acks.insert().values(decision=decision_id, unit=row["acting_unit"],
                                               actor=actor, acknowledged_at=at, note=note))
    return {"decision": decision_id, "unit": row["acting_unit"], "actor": actor,
            "note": note, "at": at.isoformat()}


def counts(conn: Connection, months: int = 12, now: datetime | None = None) -> dict[str, Any]:
    """Decisions over the last ``months`` months (Vietnam time), counting a corrected decision
    once (as its latest correction). Counts only, no text:

    ``months``: {YYYY-MM: decisions}, oldest first; ``tiles``: {tile: {YYYY-MM: decisions}}
    (tiles with at least one); ``total``; ``latest``: when the newest decision was recorded."""
    window = last_months(months, now)
    per_tile: dict[str, dict[str, int]] = {}
    totals = dict.fromkeys(window, 0)
    rows = conn.execute(select(decisions.c.tile, decisions.c.month, func.count()).where(
        decisions.c.month.in_(window), _current()).group_by(decisions.c.tile,
                                                            decisions.c.month))
    for tile, month, n in rows:
        per_tile.setdefault(tile, dict.fromkeys(window, 0))[month] = int(n)
        totals[month] += int(n)
    latest = conn.execute(select(func.max(decisions.c.recorded_at))).scalar()
    return {"months": totals, "tiles": dict(sorted(per_tile.items())),
            "total": sum(totals.values()), "latest": _utc(latest).isoformat() if latest else None}


def month_count(conn: Connection, month: str) -> int:
    """Decisions taken in a month (YYYY-MM), corrections counted once: the decisions tile."""
    return int(conn.execute(select(func.count()).select_from(decisions).where(
        decisions.c.month == check_month(month), _current())).scalar_one())
