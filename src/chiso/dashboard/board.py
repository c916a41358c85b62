"""The dashboard's tiles, computed from the catalog's tile files (``chiso.catalog.dashboard``).

:func:`tile_view` turns one tile into the JSON the API serves and the pages render: value,
target, status, trend, freshness and the units behind it. :class:`Board` keeps every tile's
view in memory and follows the change stream, so a request never computes: it reads the last
snapshot (already encoded), and a batch of records moves only the tiles it touches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from chiso.catalog.dashboard import (
    AlertsMeasure,
    DecisionsMeasure,
    Goal,
    IndicatorMeasure,
    OwnMeasure,
    RankingMeasure,
    SmeMeasure,
    TargetsMeasure,
    TasksMeasure,
    Tile,
)
from chiso.catalog.loader import Catalog
from chiso.context import Hub
from chiso.dashboard import own, sme_programme
from chiso.measurement import values as mv
from chiso.measurement.periods import YOUNG_DAYS, today_vn
from chiso.outlook import live as outlook
from chiso.outlook.status import Status
from chiso.scoring import live as scoring
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import alerts

log = logging.getLogger(__name__)

# The five statuses of the outlook, by key; the pages show text, shape and colour.
STATUSES: dict[str, dict[str, str]] = {
    s.name: {"vi": s.value, "en": s.en} for s in Status}
_BY_VALUE = {s.value: s.name for s in Status}
#: Under a steady stream of batches, a pass of the board waits this many times as long as the
#: last one took: the board keeps to about a fifth of its process's time.
BUSY_SHARE = 4.0


def opening_day(today: date) -> date:
    """The day a tile's month or quarter is taken around: today, or the last day of the last
    complete month while this month is in its first ``YOUNG_DAYS`` days (it holds too little
    data to say anything; the same rule as :func:`~chiso.measurement.periods.opening_month`)."""
    return today.replace(day=1) - timedelta(days=1) if today.day <= YOUNG_DAYS else today


def period_label(kind: str, today: date) -> str:
    """The period a tile shows: this month or quarter (the last complete one while this
    month is young, see :func:`opening_day`), or the year to date."""
    day = opening_day(today)
    if kind == "month":
        return f"{day:%Y-%m}"
    if kind == "quarter":
        return f"{day.year}-Q{(day.month + 2) // 3}"
    return f"{today.year}-YTD"


def goal_status(goal: Goal, value: float | None) -> str:
    """met / at_risk (within the margin) / behind; no_data without a value."""
    if value is None:
        return Status.no_data.name
    ok = {">=": value >= goal.value, ">": value > goal.value, "<=": value <= goal.value,
          "<": value < goal.value}[goal.op]
    if ok:
        return Status.met.name
    near = goal.margin > 0 and abs(value - goal.value) <= goal.margin
    return Status.at_risk.name if near else Status.behind.name


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def _unit_name(catalog: Catalog, code: str) -> str:
    u = catalog.units.units.get(code)
    return u.name if u else code


# -- one tile ---------------------------------------------------------------------------------
def _indicator(conn: Connection, catalog: Catalog, tile: Tile, m: IndicatorMeasure,
               today: date) -> dict[str, Any]:
    measurement = catalog.measurement
    assert measurement is not None
    ind = measurement.indicators[m.indicator]
    period = period_label(m.period, today)
    if m.period == "plan":  # a running total from the target's window start (catalog check)
        number, _, target_id = (tile.target or "").partition(":")
        period = f"{measurement.binding(number, target_id).window_start}..{today.isoformat()}"
    got = mv.values(conn, measurement, m.indicator, period, None, "city", None, today)
    v = got[0] if got else None
    out: dict[str, Any] = {
        "period": period, "period_young": m.period in ("month", "quarter")
        and opening_day(today) != today, "value": v.value if v else None,
        "numerator": v.numerator if v else None, "denominator": v.denominator if v else None,
        "records": v.records if v else 0, "unit_of_measure": ind.unit_of_measure,
        "direction": ind.direction, "as_of": _iso(mv.feed_as_of(conn, ind.feed)),
        "drill": f"/indicators/{m.indicator}?period={period}", "indicator": m.indicator}
    if m.where and ind.direction in ("higher_is_better", "lower_is_better"):
        units = [u for u in mv.values(conn, measurement, m.indicator, period, None, "units",
                                      None, today) if u.value is not None and u.unit]
        worst_first = sorted(units, key=lambda u: (u.value or 0.0),
                             reverse=ind.direction == "lower_is_better")
        out["where"] = [{"unit": u.unit, "name": _unit_name(catalog, u.unit or ""),
                         "value": u.value, "records": u.records,
                         "drill": f"/indicators/{m.indicator}?unit={u.unit}&period={period}"}
                        for u in worst_first[:m.where]]
    if tile.target is None:
        year = date(today.year, 1, 1)
        points = outlook.monthly_points(conn, catalog, m.indicator, None, year, today)
        out["trend"] = [{"month": p.at.isoformat()[:7], "value": p.value} for p in points]
    return out


def _target(conn: Connection, catalog: Catalog, ref: str, today: date) -> dict[str, Any]:
    plan, _, target_id = ref.partition(":")
    o = outlook.target_outlook(conn, catalog, plan, target_id, None, today)
    status = _BY_VALUE.get(o["status"] or "", Status.no_data.name)
    return {"plan": plan, "id": target_id, "threshold": o["threshold"],
            "direction": o["direction"], "unit_of_measure": o["unit_of_measure"],
            "deadline": o["deadline"], "status": status,
            "awaiting_data": o.get("awaiting_data"),
            "note": o.get("note"), "note_vi": o.get("note_vi"),
            "forecast": (o.get("forecast") or {}).get("value"),
            "sentence": o.get("sentence"), "milestone": o.get("milestone"),
            "trend": [{"month": p["month"], "value": p["value"]} for p in o.get("series", [])]}


def _tasks(conn: Connection, catalog: Catalog, m: TasksMeasure, today: date) -> dict[str, Any]:
    warned = outlook.unit_task_warnings(conn, catalog, None, today, m.days)["warnings"]
    kind = "overdue" if m.show == "overdue" else "due_soon"
    rows = [w for w in warned if w["kind"] == kind and (m.plan is None or w["plan"] == m.plan)]
    leads: dict[str, int] = {}
    by_task = {(n, t.id): t for n, p in catalog.plans.items() for t in p.tasks}
    for w in rows:
        task = by_task.get((w["plan"], w["task"]))
        lead = task.lead[0] if task and task.lead else "—"
        leads[lead] = leads.get(lead, 0) + 1
    top = sorted(leads.items(), key=lambda kv: (-kv[1], kv[0]))[:m.where]
    return {"value": float(len(rows)), "unit_of_measure": "nhiệm vụ", "period": today.isoformat(),
            "where": [{"name": name, "value": float(n)} for name, n in top],
            "drill": f"/deadlines?days={m.days}", "as_of": None}


def _targets(conn: Connection, catalog: Catalog, m: TargetsMeasure, today: date
             ) -> dict[str, Any]:
    measurement = catalog.measurement
    pb = measurement.plans.get(m.plan) if measurement else None
    flagged, judged = [], 0
    for target_id, binding in (pb.bindings.items() if pb else []):
        if not binding.indicators:
            continue
        o = outlook.target_outlook(conn, catalog, m.plan, target_id, None, today)
        if o["status"] is None or o["status"] == Status.no_data.value:
            continue
        judged += 1
        if o.get("flagged"):
            flagged.append({"name": target_id, "value": o["latest"]["value"]
                            if o.get("latest") else None, "status": _BY_VALUE[o["status"]],
                            "drill": f"/plans/{plan_key(m.plan)}/targets/{target_id}"})
    # Nothing judged yet (no values at all) is "no data", not "none at risk".
    return {"value": float(len(flagged)) if judged else None, "of": judged,
            "unit_of_measure": "chỉ tiêu",
            "period": today.isoformat(), "where": flagged[:5],
            "drill": f"/targets?plan={plan_key(m.plan)}", "as_of": None}


def _ranking(conn: Connection, catalog: Catalog, m: RankingMeasure, today: date
             ) -> dict[str, Any]:
    period = period_label(m.period, today)
    r = scoring.ranking(conn, catalog, m.method, m.units, period, today)
    rows = r["units"]
    points = [u["points"] for u in rows if u["points"] is not None]
    pick = rows[:m.where] + (rows[-m.where:] if len(rows) > 2 * m.where else [])
    computed = [u["computed_at"] for u in rows if u.get("computed_at")]
    return {"value": sum(points) / len(points) if points else None, "unit_of_measure": "điểm",
            "period": period, "of": len(rows), "provisional": r["provisional"],
            "where": [{"unit": u["unit"], "name": u["name"], "value": u["points"],
                       "rank": u["rank"], "rank_change": u["rank_change"],
                       "drill": f"/units/{u['unit']}/scores/{m.method}?period={period}"}
                      for u in pick],
            "drill": f"/rankings/{m.method}?kind={m.units}&period={period}",
            "as_of": _iso(datetime.fromisoformat(max(computed))) if computed else None}


def _decisions(conn: Connection, catalog: Catalog, today: date) -> dict[str, Any]:
    from chiso.dashboard import decisions
    counts = decisions.counts(conn, months=12)
    month = f"{today:%Y-%m}"
    totals = counts.get("months", {})
    trend = [{"month": k, "value": float(v)} for k, v in sorted(totals.items())]
    by_tile = counts.get("tiles", {})
    top = sorted(((t, n.get(month, 0)) for t, n in by_tile.items()), key=lambda kv: -kv[1])
    return {"value": float(totals.get(month, 0)), "unit_of_measure": "quyết định",
            "period": month, "trend": trend,
            "where": [{"name": _tile_title(catalog, t), "value": float(n),
                       "drill": f"/decisions?tile={t}"} for t, n in top[:3] if n],
            "drill": "/decisions", "as_of": counts.get("latest")}


def _tile_title(catalog: Catalog, tile_id: str) -> str:
    tile = catalog.dashboard.tiles.get(tile_id) if catalog.dashboard else None
    return tile.title_vi if tile else tile_id


def _alerts(conn: Connection, m: AlertsMeasure, today: date) -> dict[str, Any]:
    since = today - timedelta(days=m.days)
    n = conn.execute(select(func.count()).select_from(alerts).where(
        alerts.c.raised_on >= since)).scalar_one()
    latest = conn.execute(select(func.max(alerts.c.created_at))).scalar()
    return {"value": float(n), "unit_of_measure": "cảnh báo", "period": f"{since}..{today}",
            "drill": "/deadlines", "as_of": _iso(latest)}


def tile_view(conn: Connection, catalog: Catalog, tile: Tile, today: date,
              now: datetime | None = None,
              outlooks: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One tile as the API serves it. ``outlooks`` caches target outlooks by target: a
    forecast moves slowly, so the quick path reuses it while the value itself is fresh."""
    m = tile.measure
    body: dict[str, Any]
    if isinstance(m, IndicatorMeasure):
        body = _indicator(conn, catalog, tile, m, today)
    elif isinstance(m, TasksMeasure):
        body = _tasks(conn, catalog, m, today)
    elif isinstance(m, TargetsMeasure):
        body = _targets(conn, catalog, m, today)
    elif isinstance(m, RankingMeasure):
        body = _ranking(conn, catalog, m, today)
    elif isinstance(m, DecisionsMeasure):
        body = _decisions(conn, catalog, today)
    elif isinstance(m, OwnMeasure):
        body = own.own_measure(conn, catalog, m.result, today)
    elif isinstance(m, SmeMeasure):
        answer = sme_programme.programme(conn, catalog, today)
        body = sme_programme.tile_body(answer, m.show, m.where)
    else:
        assert isinstance(m, AlertsMeasure)
        body = _alerts(conn, m, today)
    status: str | None = None
    target = None
    if tile.target is not None:
        cached = outlooks.get(tile.target) if outlooks is not None else None
        # A forecast kept from before the tile had data would say "no data" beside a value.
        if cached is None or (cached["status"] == Status.no_data.name
                              and body.get("value") is not None):
            cached = _target(conn, catalog, tile.target, today)
            if outlooks is not None:
                outlooks[tile.target] = cached
        target = {k: v for k, v in cached.items() if k not in ("status", "trend")}
        status = cached["status"]
        body.setdefault("trend", _with_current(cached["trend"], body, today))
    elif tile.goal is not None:
        status = goal_status(tile.goal, body.get("value"))
        target = {"op": tile.goal.op, "threshold": tile.goal.value}
    if body.get("value") is None and status is not None:
        status = Status.no_data.name
    now = now or datetime.now(UTC)
    as_of = body.get("as_of")
    age = (now - datetime.fromisoformat(_iso(datetime.fromisoformat(as_of)) or "")
           ).total_seconds() / 3600 if as_of else None
    return {
        "id": tile.id, "group": tile.group, "kind": m.kind,
        "title": {"vi": tile.title_vi, "en": tile.title_en},
        "question": {"vi": tile.question_vi, "en": tile.question_en},
        **body, "trend": body.get("trend", []), "where": body.get("where", []),
        "target": target, "status": status,
        "status_text": STATUSES[status] if status else None,
        "stale": age is not None and age > tile.stale_after_hours,
        "stale_after_hours": tile.stale_after_hours, "computed_at": now.isoformat()}


def _with_current(trend: list[dict[str, Any]], body: dict[str, Any], today: date
                  ) -> list[dict[str, Any]]:
    """The monthly trend with this month's point set to the value just computed (when the
    tile shows this month), so a cached outlook never shows an old point."""
    month = f"{today:%Y-%m}"
    if body.get("period") != month or body.get("value") is None:
        return list(trend)
    return [p for p in trend if p["month"] != month] + [{"month": month,
                                                         "value": body["value"]}]


def _safe_view(conn: Connection, catalog: Catalog, tile: Tile, today: date,
               outlooks: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A tile that cannot be computed says so instead of taking the board down."""
    try:
        return tile_view(conn, catalog, tile, today, outlooks=outlooks)
    except Exception as exc:  # a method without a version in force, a table not there yet
        log.exception("tile %s could not be computed", tile.id)
        return {"id": tile.id, "group": tile.group, "kind": tile.measure.kind,
                "title": {"vi": tile.title_vi, "en": tile.title_en},
                "question": {"vi": tile.question_vi, "en": tile.question_en},
                "value": None, "trend": [], "where": [], "target": None,
                "status": Status.no_data.name, "status_text": STATUSES["no_data"],
                "stale": True, "error": str(exc), "as_of": None,
                "computed_at": datetime.now(UTC).isoformat()}


# -- the board: every tile, kept fresh ----------------------------------------------------
class Board:
    """Every tile's view, rebuilt only where the data moved.

    Value events name an indicator: its tiles are recomputed after ``debounce`` seconds,
    reusing their targets' forecasts; the forecasts (and the targets tiles) follow every
    ``slow`` seconds when a value or the day changed since, since a forecast of December does
    not move with one batch (an idle board computes no forecast). Score
    announcements move the ranking tiles. Tasks, decisions and alerts move with the calendar
    and with writes: they are refreshed every ``slow`` seconds and on :meth:`touch`. Each
    refresh is announced on the hub as ``{"type": "tiles", "ids": [...], "version": n}``.
    """

    def __init__(self, engine: Engine, catalog: Catalog, hub: Hub | None = None,
                 today: Callable[[], date] = today_vn) -> None:
        """``hub``: the change stream :meth:`follow` listens to and announces tiles on."""
        self.engine, self.catalog, self.today = engine, catalog, today
        self.hub = hub or Hub()
        self.views: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.encoded = b"{}"
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._outlooks: dict[str, dict[str, Any]] = {}  # target -> its outlook, for tiles
        self._forecast_due: set[str] = set()  # tiles whose target outlook is out of date
        self._wake: asyncio.Event | None = None
        tiles = catalog.dashboard.tiles if catalog.dashboard else {}
        self.by_indicator: dict[str, set[str]] = {}
        for t in tiles.values():
            if t.indicator:
                self.by_indicator.setdefault(t.indicator, set()).add(t.id)
        # A tile whose indicator reads others (kind lowest, a fallback) moves with them too.
        reads = catalog.measurement.indicators if catalog.measurement else {}
        for t in tiles.values():
            ind = reads.get(t.indicator or "")
            for code in ([*ind.of, *filter(None, [ind.fallback])] if ind else []):
                self.by_indicator.setdefault(code, set()).add(t.id)
        # The SME programme's tiles read its records: they move with any of its indicators.
        sme_feeds = set(sme_programme.FEEDS)
        for code, ind in (catalog.measurement.indicators.items() if catalog.measurement
                          else []):
            if ind.feed in sme_feeds:
                for t in tiles.values():
                    if t.measure.kind == "sme":
                        self.by_indicator.setdefault(code, set()).add(t.id)
        self.by_kind: dict[str, set[str]] = {}
        for t in tiles.values():
            self.by_kind.setdefault(t.measure.kind, set()).add(t.id)

    @property
    def tiles(self) -> dict[str, Tile]:
        return self.catalog.dashboard.tiles if self.catalog.dashboard else {}

    def refresh(self, ids: Iterable[str] | None = None, outlooks: bool = True,
                today: date | None = None) -> list[str]:
        """Recompute these tiles (all by default) and re-encode the snapshot. With
        ``outlooks=False`` their targets' forecasts are reused from the last full pass."""
        chosen = [i for i in (self.tiles if ids is None else ids) if i in self.tiles]
        today = today or self.today()
        if outlooks:
            for i in chosen:
                self._outlooks.pop(self.tiles[i].target or "", None)
        with self.engine.connect() as conn:
            fresh = {i: _safe_view(conn, self.catalog, self.tiles[i], today, self._outlooks)
                     for i in chosen}
        with self._lock:
            self.views.update(fresh)
            self.version += 1
            self.encoded = json.dumps(self.snapshot(today), ensure_ascii=False,
                                      separators=(",", ":")).encode()
        return chosen

    def snapshot(self, today: date | None = None) -> dict[str, Any]:
        """The whole dashboard as the API serves it: groups in order, each with its tiles."""
        board = self.catalog.dashboard
        groups = []
        for g in board.groups if board else []:
            groups.append({"id": g.group.id, "order": g.group.order,
                           "title": {"vi": g.group.title_vi, "en": g.group.title_en},
                           "summary": {"vi": g.group.summary_vi, "en": g.group.summary_en},
                           "tiles": [self.views[t.id] for t in g.tiles if t.id in self.views]})
        return {"version": self.version, "today": (today or self.today()).isoformat(),
                "statuses": STATUSES, "groups": groups}

    def touch(self, kind: str) -> None:
        """Something outside the change stream moved tiles of this kind (a decision taken)."""
        self._mark(self.by_kind.get(kind, set()))

    def _mark(self, ids: Iterable[str]) -> None:
        self._pending.update(ids)
        if self._wake is not None:
            self._wake.set()

    async def follow(self, debounce: float = 0.3, slow: float = 60.0) -> None:
        """Run until cancelled: refresh the tiles the stream, writes and time move."""
        self._wake = asyncio.Event()
        sub = self.hub.subscribe(bounded=False)
        if len(self.views) < len(self.tiles):  # every tile once, before following changes
            await asyncio.to_thread(self.refresh)
        quick_kinds = ("indicator",)
        calendar_ids = set().union(*(self.by_kind.get(k, set()) for k in
                                     ("tasks", "decisions", "alerts", "own")))
        forecast_ids = self.by_kind.get("targets", set())
        moved = [False]  # a value changed since the last slow pass
        day = [self.today()]

        async def listen() -> None:
            while True:
                item = await sub.queue.get()
                kind = item.get("type")
                if kind == "tiles":
                    continue
                if kind == "scores":
                    self._mark(self.by_kind.get("ranking", set()))
                else:
                    moved[0] = True
                    self._mark(self.by_indicator.get(str(item.get("indicator")), set()))

        async def tick() -> None:
            while True:
                await asyncio.sleep(slow)
                # Forecasts move with the data and the day, not the clock: while neither
                # moved they are kept (an idle server does no forecasting).
                today = self.today()
                forecast = moved[0] or today != day[0]
                moved[0], day[0] = False, today
                due, self._forecast_due = self._forecast_due, set()
                done = await asyncio.to_thread(self.refresh, sorted(calendar_ids), False)
                if forecast and (forecast_ids or due):
                    done += await asyncio.to_thread(self.refresh, sorted(forecast_ids | due))
                self.hub.publish([{"type": "tiles", "ids": done, "version": self.version}])

        listener, ticker = asyncio.create_task(listen()), asyncio.create_task(tick())
        spent = 0.0  # seconds the last pass took
        try:
            while True:
                await self._wake.wait()
                # Let a burst of batches settle; under a steady stream, passes are spaced so
                # that the board takes at most a fifth of the process (requests come first).
                await asyncio.sleep(max(debounce, BUSY_SHARE * spent))
                self._wake.clear()
                started = time.monotonic()
                ids, self._pending = self._pending, set()
                if not ids:
                    continue
                # Quick tiles first, so a value reaches the page in well under a second;
                # the slower ones (forecasts, tasks) follow in their own pass.
                quick = {i for i in ids if self.tiles[i].measure.kind in quick_kinds}
                self._forecast_due |= {i for i in quick if self.tiles[i].target}
                for part, fresh_outlooks in ((quick, False), (ids - quick, True)):
                    if part:
                        done = await asyncio.to_thread(self.refresh, sorted(part),
                                                       fresh_outlooks)
                        self.hub.publish([{"type": "tiles", "ids": done, "version": self.version}])
                spent = time.monotonic() - started
        finally:
            listener.cancel()
            ticker.cancel()
            self.hub.unsubscribe(sub)
            self._wake = None
