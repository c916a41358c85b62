"""chiso's own results (plan 131, Appendix 02 row 7: the measurement, monitoring and
automatic scoring system), measured from chiso's own data (docs/dashboard.md, "chiso's own
targets"):

* ``scored_units``: departments and communes with a stored score for the year to date (scores
  are computed by chiso itself, from the data), over the departments and communes scored;
* ``realtime_targets``: the plan's targets that are bound to an indicator and whose data is
  fresher than its feed's expected frequency, over all the plan's targets;
* ``system_values``: records accepted that came from systems (push, pull, bulk, files from
  systems) rather than typed by hand (``manual`` batches), over all records accepted;
* ``early_flags``: the plan's targets missed at a deadline already passed that were alerted at
  least ``LEAD_DAYS`` days before it, over the targets missed (no value while none is missed);
* ``reports_written``: the periodic reports the plans require for each kind's latest ended
  period that chiso wrote, over those required (``chiso.dashboard.reduction``: the cut in
  digital-transformation reports typed by hand).

Each answer is a tile body: value (a percentage), how many of how many, the items pulling it
down, and the time it is true as of.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from chiso.catalog.indicators import STATS_FEED
from chiso.catalog.loader import Catalog
from chiso.dashboard.reduction import reduction
from chiso.measurement import values as mv
from chiso.measurement.periods import Period
from chiso.scoring.live import scored_units
from chiso.store.catalog_sync import plan_key
from chiso.store.tables import alerts, feed_stats_value, intake_batches, scores

Own = Literal["scored_units", "realtime_targets", "system_values", "early_flags",
              "reports_written"]
PLAN = "131/KH-UBND"
LEAD_DAYS = 56  # 8 weeks: the plan's early-warning lead
_PERIOD_DAYS = {"day": 1, "month": 31, "quarter": 92}


def _share(n: int, of: int) -> float | None:
    return round(100.0 * n / of, 4) if of else None


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def scored(conn: Connection, catalog: Catalog, today: date) -> dict[str, Any]:
    label = Period.ytd(today).label
    units = [u for k in ("department", "commune") for u in scored_units(catalog, k)]
    rows = conn.execute(select(scores.c.unit, func.max(scores.c.computed_at)).where(
        scores.c.period == label).group_by(scores.c.unit)).all()
    done = {u for u, _ in rows}
    missing = [u for u in units if u not in done]
    latest = max((at for _, at in rows if at is not None), default=None)
    return {"value": _share(len(units) - len(missing), len(units)), "of": len(units),
            "count": len(units) - len(missing), "period": label,
            "where": [{"name": catalog.units.units[u].name, "unit": u, "value": None,
                       "drill": f"/units/{u}"} for u in missing[:5]],
            "drill": "/rankings", "as_of": _iso(latest)}


def _fresh_at(conn: Connection, catalog: Catalog, code: str) -> datetime | None:
    m = catalog.measurement
    assert m is not None
    ind = m.indicators[code]
    if ind.feed == STATS_FEED:  # a published figure: when its own codes were last published
        codes = {ms.stats_indicator for _, ms in ind.measures() if ms.stats_indicator}
        return conn.execute(select(func.max(feed_stats_value.c.published_at)).where(
            feed_stats_value.c.indicator.in_(codes))).scalar()
    return conn.execute(select(func.max(intake_batches.c.received_at)).where(
        intake_batches.c.feed == ind.feed, intake_batches.c.status == "accepted")).scalar()


def realtime(conn: Connection, catalog: Catalog, today: date,
             now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    m = catalog.measurement
    pb = m.plans.get(PLAN) if m else None
    targets = catalog.plans[PLAN].targets
    late: list[dict[str, Any]] = []
    fresh, newest = 0, None
    for t in targets:
        b = pb.bindings.get(t.id) if pb else None
        at = _fresh_at(conn, catalog, b.indicators[0]) if b and b.indicators else None
        ok = False
        if at is not None and b is not None and m is not None:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            expect = m.contracts[m.indicators[b.indicators[0]].feed].expect
            allowed = timedelta(days=_PERIOD_DAYS[expect.period], hours=expect.timely_hours)
            ok = now - at <= allowed
            newest = at if newest is None or at > newest else newest
        if ok:
            fresh += 1
        else:
            late.append({"name": t.id, "value": None,
                         "drill": f"/plans/{plan_key(PLAN)}/targets/{t.id}"})
    return {"value": _share(fresh, len(targets)), "of": len(targets), "count": fresh,
            "period": today.isoformat(), "where": late[:5],
            "drill": f"/targets?plan={plan_key(PLAN)}", "as_of": _iso(newest)}


def from_systems(conn: Connection, today: date) -> dict[str, Any]:
    rows = conn.execute(select(intake_batches.c.manual, func.sum(intake_batches.c.records),
                               func.max(intake_batches.c.received_at)).where(
        intake_batches.c.status == "accepted").group_by(intake_batches.c.manual)).all()
    total = sum(int(n or 0) for _, n, _ in rows)
    by_hand = sum(int(n or 0) for manual, n, _ in rows if manual)
    latest = max((at for _, _, at in rows if at is not None), default=None)
    return {"value": _share(total - by_hand, total), "of": total, "count": total - by_hand,
            "period": today.isoformat(), "drill": "/intake/data-quality",
            "as_of": _iso(latest)}


def early(conn: Connection, catalog: Catalog, today: date) -> dict[str, Any]:
    m = catalog.measurement
    pb = m.plans.get(PLAN) if m else None
    missed, flagged, late = 0, 0, []
    for t in catalog.plans[PLAN].targets:
        b = pb.bindings.get(t.id) if pb else None
        if b is None or not b.indicators or m is None or t.deadline >= today:
            continue
        judged = [mv.values(conn, m, code, p, today=today)
                  for code in b.indicators for p in mv.judged_periods(b, t.deadline, today)]
        if not any(mv.met(t.direction.value, v[0].value if v else None, t.threshold) is False
                   for v in judged):
            continue
        missed += 1
        first = conn.execute(select(func.min(alerts.c.raised_on)).where(
            alerts.c.kind == "target", alerts.c.plan_key == plan_key(PLAN),
            alerts.c.item_id == t.id)).scalar()
        if first is not None and first <= t.deadline - timedelta(days=LEAD_DAYS):
            flagged += 1
        else:
            late.append({"name": t.id, "value": None,
                         "drill": f"/plans/{plan_key(PLAN)}/targets/{t.id}"})
    return {"value": _share(flagged, missed), "of": missed, "count": flagged,
            "period": today.isoformat(), "where": late[:5], "drill": "/deadlines",
            "as_of": None}


def reports_written(conn: Connection, catalog: Catalog, today: date) -> dict[str, Any]:
    got = reduction(conn, catalog, today)
    behind = sorted((k for k in got.kinds if k.written < k.required),
                    key=lambda k: (k.written / k.required, k.kind))
    return {"value": _share(got.written, got.required), "of": got.required,
            "count": got.written, "period": today.isoformat(),
            "where": [{"name": f"{k.title_vi} {k.period}", "unit": None,
                       "value": _share(k.written, k.required), "drill": "/bao-cao"}
                      for k in behind[:5]],
            "drill": "/bao-cao", "as_of": _iso(got.built_at)}


def own_measure(conn: Connection, catalog: Catalog, which: Own, today: date) -> dict[str, Any]:
    """The tile body of one of chiso's own results."""
    if which == "scored_units":
        body = scored(conn, catalog, today)
    elif which == "realtime_targets":
        body = realtime(conn, catalog, today)
    elif which == "system_values":
        body = from_systems(conn, today)
    elif which == "reports_written":
        body = reports_written(conn, catalog, today)
    else:
        body = early(conn, catalog, today)
    return {**body, "unit_of_measure": "%"}
