"""What needs a leader's attention: the first screen of the dashboard.

:func:`first_screen` answers, from the board's snapshot and the rooms' typed answers, the
questions a leader opens the dashboard with:

- how many of the tiles' targets are met, on track, at risk and behind, city-wide and per
  data group (each count links to the board filtered by that status and group);
- the few warnings that matter most: flagged tiles, behind before at risk, with their
  target's sentence;
- the units that moved most in the rankings from the month before to the last complete month,
  read from stored scores (stable while data streams in, and cheap), with the criterion that
  moved most;
- the tasks that became overdue in the last seven days;
- the decisions whose follow-up date has passed without the tile moving the way it should.

The answer is a frozen Pydantic model; the page and ``GET /api/v1/dashboard/attention`` both
serve it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, select

from chiso.catalog.loader import Catalog
from chiso.context import Answer, Runtime
from chiso.dashboard.board import STATUSES
from chiso.measurement.periods import opening_month, parse_period
from chiso.outlook import answers as outlook
from chiso.scoring import answers as scoring
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import decision_acks, decisions

FLAGGED = ("behind", "at_risk")
COUNTED = ("met", "on_track", "at_risk", "behind")  # the statuses the first screen counts
WARNINGS = 5  # warnings shown
MOVERS = 5  # units shown among those that moved most
OVERDUE_WINDOW = 7  # "became overdue this week": due in the last seven days


class Text(Answer):
    vi: str
    en: str


class Tally(Answer):
    """Tiles by status (``met``, ``on_track``, ``at_risk``, ``behind``, ``no_data``) of one
    group or of the whole board; tiles without a target or goal are not counted."""

    group: str | None = Field(description="the data group; none for the whole board")
    title: Text | None = None
    counts: dict[str, int]
    judged: int = Field(description="tiles with a status other than no_data")

    def link(self, status: str) -> str:
        """The board filtered to this status (and group)."""
        return f"/?status={status}" + (f"&group={self.group}" if self.group else "") + "#board"


class Warning(Answer):
    tile: str
    group: str
    title: Text
    status: str
    sentence: Text | None = None
    value: float | None = None
    unit_of_measure: str | None = None
    drill: str | None = None


class Mover(Answer):
    """A unit whose rank moved between the previous month and this one."""

    method: str
    method_name: Text
    kind: str
    unit: str
    name: str
    rank: int
    rank_change: int = Field(description="places gained (negative: lost)")
    points: float
    points_change: float | None = None
    why: str | None = Field(default=None, description="the criterion that moved most")
    link: str


class Overdue(Answer):
    plan: str
    task: str
    title: str | None
    due: date
    days: int = Field(description="days overdue")
    link: str


class Stalled(Answer):
    """A decision whose follow-up date has passed while its tile did not move the way the
    tile's direction asks (or has no value)."""

    id: int
    tile: str
    tile_title: Text
    follow_up: date
    seen: float | None
    now: float | None
    acting_unit: str | None = Field(default=None, description="the unit that must act")
    acting_unit_name: str | None = None
    acknowledged: bool = Field(description="the acting unit acknowledged the decision")
    link: str


class FirstScreen(Answer):
    today: date
    month: str = Field(description="the month the monthly tiles open on (opening month)")
    movers_month: str = Field(description="the month rank moves are read for: the last "
                              "complete one, from stored scores")
    total: Tally
    groups: list[Tally]
    warnings: list[Warning]
    movers: list[Mover]
    overdue: list[Overdue]
    stalled: list[Stalled]


def _tally(group: str | None, title: Text | None, tiles: list[Mapping[str, Any]]) -> Tally:
    counts = dict.fromkeys(STATUSES, 0)
    for t in tiles:
        if t.get("status"):
            counts[t["status"]] += 1
    judged = sum(counts[s] for s in COUNTED)
    return Tally(group=group, title=title, counts=counts, judged=judged)


def _warnings(tiles: list[Mapping[str, Any]]) -> list[Warning]:
    flagged = [t for t in tiles if t.get("status") in FLAGGED]
    # Behind before at risk; a tile that says why (its target's sentence) before one that
    # does not; then the board's order.
    flagged.sort(key=lambda t: (FLAGGED.index(t["status"]),
                                not (t.get("target") or {}).get("sentence")))
    out = []
    for t in flagged[:WARNINGS]:
        sentence = (t.get("target") or {}).get("sentence")
        out.append(Warning(tile=t["id"], group=t["group"], title=Text(**t["title"]),
                           status=t["status"], sentence=Text(**sentence) if sentence else None,
                           value=t.get("value"), unit_of_measure=t.get("unit_of_measure"),
                           drill=t.get("drill")))
    return out


def last_month(today: date) -> str:
    """The last complete month: rank moves are read for it."""
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def _movers(rt: Runtime, conn: Connection, today: date) -> list[Mover]:
    """The units whose rank moved most from the month before to the last complete month, over
    the rankings the dashboard's ranking tiles show, read from stored scores only (what the
    scoring follower stored): nothing is computed, and the moves stay as they are while this
    month's data streams in. A ranking whose last month is not stored shows no moves."""
    board = rt.catalog.dashboard
    methods = rt.catalog.methods
    pairs = sorted({(t.measure.method, t.measure.units) for t in
                    (board.tiles.values() if board else []) if t.measure.kind == "ranking"})
    period = parse_period(last_month(today), today)
    found: list[Mover] = []
    for method, kind in pairs:
        try:
            ranking = scoring.stored_ranking(conn, rt.catalog, method, kind, period, today)
        except scoring.ScoringError:
            continue  # a method without a version in force for the month
        version = methods.versions[method][-1] if methods else None
        name = Text(vi=version.name_vi if version else method,
                    en=(version.name_en or version.name_vi) if version else method)
        for row in ranking.units:
            if not row.rank_change:
                continue
            why = row.explanation[0].name if row.explanation else None
            found.append(Mover(
                method=method, method_name=name, kind=kind, unit=row.unit, name=row.name,
                rank=row.rank, rank_change=row.rank_change, points=row.points,
                points_change=row.points_change, why=why,
                link=f"/units/{row.unit}/scores/{method}?period={period.label}"))
    found.sort(key=lambda m: (-abs(m.rank_change), m.method, m.rank))
    return found[:MOVERS]


def _overdue(conn: Connection, catalog: Catalog, unit: str | None, today: date
             ) -> list[Overdue]:
    warned = outlook.task_warnings(conn, catalog, unit, today)
    return [Overdue(plan=w.plan, task=w.task, title=w.title, due=w.due, days=w.days,
                    link=f"/plans/{plan_key(w.plan)}/tasks/{w.task}")
            for w in sorted(warned.warnings, key=lambda w: w.days)
            if w.kind == "overdue" and 0 < w.days <= OVERDUE_WINDOW]


def better(view: Mapping[str, Any], seen: float | None, now: float | None) -> bool:
    """Did the tile move the way it should since ``seen``? Its indicator's direction, else its
    target's or goal's comparison; counts of problems (tasks, flagged targets, alerts) should
    fall; anything else should at least change."""
    if now is None:
        return False
    if seen is None:
        return True
    direction = view.get("direction")
    target = view.get("target") or {}
    compare = target.get("op") or target.get("direction")
    if direction == "higher_is_better" or compare in (">=", ">"):
        return now > seen
    if direction == "lower_is_better" or compare in ("<=", "<") or \
            view.get("kind") in ("tasks", "targets", "alerts"):
        return now < seen
    return now != seen


def _stalled(conn: Connection, catalog: Catalog, views: Mapping[str, Mapping[str, Any]],
             unit: str | None, today: date) -> list[Stalled]:
    corrected = select(decisions.c.corrects).where(decisions.c.corrects.is_not(None))
    acked = select(decision_acks.c.decision)
    query = select(decisions.c.id, decisions.c.tile, decisions.c.follow_up, decisions.c.seen,
                   decisions.c.acting_unit, decisions.c.id.in_(acked).label("acked")).where(
        decisions.c.follow_up < today, decisions.c.id.not_in(corrected))
    if unit is not None:
        query = query.where(decisions.c.acting_unit == unit)
    out = []
    board = catalog.dashboard
    names = catalog.units.units
    for row in conn.execute(query.order_by(decisions.c.follow_up, decisions.c.id)):
        view = views.get(row.tile)
        tile = board.tiles.get(row.tile) if board else None
        if view is None or tile is None:
            continue
        seen = row.seen if isinstance(row.seen, dict) else {}
        seen_value = seen.get("value")
        if better(view, seen_value, view.get("value")):
            continue
        out.append(Stalled(id=row.id, tile=row.tile,
                           tile_title=Text(vi=tile.title_vi, en=tile.title_en),
                           follow_up=row.follow_up, seen=seen_value, now=view.get("value"),
                           acting_unit=row.acting_unit,
                           acting_unit_name=names[row.acting_unit].name
                           if row.acting_unit in names else None,
                           acknowledged=bool(row.acked), link=f"/decisions?tile={row.tile}"))
    return out


# Rank moves and overdue tasks move with stored scores and the calendar, not with each batch:
# they are kept in the runtime for SLOW_SECONDS per day, so that opening the home page while
# data streams in does not read five rankings and every task's evidence each time.
_CACHE = "dashboard.attention"
SLOW_SECONDS = 60.0


def _slow_parts(rt: Runtime, conn: Connection, today: date
                ) -> tuple[list[Mover], list[Overdue]]:
    kept: dict[date, tuple[float, list[Mover], list[Overdue]]] = rt.caches.setdefault(
        _CACHE, {})
    now = time.monotonic()
    cached = kept.get(today)
    if cached is not None and now - cached[0] < SLOW_SECONDS:
        return cached[1], cached[2]
    movers, overdue = _movers(rt, conn, today), _overdue(conn, rt.catalog, None, today)
    kept.clear()  # one day at a time: the cache stays one entry
    kept[today] = (now, movers, overdue)
    return movers, overdue


def first_screen(rt: Runtime, conn: Connection, snapshot: Mapping[str, Any], today: date
                 ) -> FirstScreen:
    """The first screen for the whole city, from the board's ``snapshot`` (its groups and
    tiles as :meth:`~chiso.dashboard.board.Board.snapshot` gives them). Counts, warnings and
    stalled decisions are as current as the snapshot; rank moves and overdue tasks may be up
    to ``SLOW_SECONDS`` old."""
    groups = snapshot.get("groups", [])
    every = [t for g in groups for t in g["tiles"]]
    views = {t["id"]: t for t in every}
    movers, overdue = _slow_parts(rt, conn, today)
    return FirstScreen(
        today=today, month=opening_month(today), movers_month=last_month(today),
        total=_tally(None, None, every),
        groups=[_tally(g["id"], Text(**g["title"]), g["tiles"]) for g in groups],
        warnings=_warnings(every), movers=movers, overdue=overdue,
        stalled=_stalled(conn, rt.catalog, views, None, today))
