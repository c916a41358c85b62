"""Scores on stored data: each criterion's input gathered for a unit and a period, the pure
scoring function applied, scores and ranks stored with their history (docs/scoring.md, "Live").

Inputs, by binding:

* ``indicator``: the unit's value for the period (``chiso.measurement.values``, one query per
  indicator for every unit); for the ``last_known`` rule, the value of the 12 months before.
* ``targets``: the mean progress share (value / threshold, 0–1; threshold / value when lower is
  better) of the bound targets the unit implements, on the period's value of the first bound
  indicator.
* ``tasks``: the dated tasks the unit leads that fell due by the period's end (or today):
  done on time, done late or overdue by the unit's own completing evidence (or the city's)
  attached up to then (``chiso.store.evidence_reads.completed_on``).
* ``data``: completeness (periods met / periods due) and timeliness (share of records arriving
  within the contract's hours) of the feeds the unit sends, from intake's data quality.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from chiso.catalog.indicators import Kind
from chiso.catalog.loader import Catalog
from chiso.catalog.methods import Method, Node, criteria
from chiso.catalog.models import Target, Task
from chiso.intake import quality
from chiso.measurement import values as mv
from chiso.measurement.periods import Period, parse_period
from chiso.measurement.values import Value
from chiso.scoring.intervals import apart, share_interval
from chiso.scoring.score import CriterionInput, ScoreNode, score
from chiso.store import webhooks
from chiso.store.catalog_sync import plan_key
from chiso.store.evidence_reads import Evidence, completed_on
from chiso.store.evidence_reads import stored as stored_evidence
from chiso.store.tables import FEED_TABLES, assignments, score_history, scores
from chiso.units.models import UnitKind


def previous_period(label: str) -> str | None:
    """The label of the period before ``label`` (see :meth:`Period.previous`)."""
    before = parse_period(label).previous()
    return before.label if before else None


def progress_share(value: float, threshold: float, higher_is_better: bool) -> float:
    if higher_is_better:
        return 1.0 if threshold <= 0 else min(max(value / threshold, 0.0), 1.0)
    if value <= threshold:
        return 1.0
    return min(max(threshold / value, 0.0), 1.0) if value > 0 else 1.0


@dataclass
class Gatherer:
    """Reads the stored data a period's scores rest on, each source once for every unit."""

    conn: Connection
    catalog: Catalog
    period: Period
    today: date
    _values: dict[str, dict[str, Value]] = field(default_factory=dict)
    _last: dict[str, dict[str, Value]] = field(default_factory=dict)
    _assigned: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)
    _quality: dict[str, dict[str, float | None]] | None = None
    _evidence: dict[str, list[Evidence]] | None = None

    @property
    def until(self) -> date:
        return min(self.period.end, self.today)

    def values(self, code: str, last: bool = False) -> dict[str, Value]:
        cache = self._last if last else self._values
        if code not in cache:
            m = self.catalog.measurement
            assert m is not None
            label = self.period.label
            if last:
                lo = self.period.start - timedelta(days=365)
                label = f"{lo.isoformat()}..{(self.period.start - timedelta(days=1)).isoformat()}"
            got = mv.values(self.conn, m, code, label, level="units", today=self.today)
            cache[code] = {v.unit: v for v in got if v.unit is not None and v.value is not None}
        return cache[code]

    def interval(self, code: str, v: Value) -> tuple[float, float] | None:
        """The 95% interval of a share measured from source records (intervals.py); None
        for published figures and for what is not a share of its records."""
        m = self.catalog.measurement
        assert m is not None
        assert v.value is not None
        ind = m.indicators[code]
        if ind.kind is not Kind.ratio or m.contracts[ind.feed].publishes_values:
            return None
        return share_interval(v.value, float(ind.scale), v.records)

    def assigned(self, kind: str, role: str) -> set[tuple[str, str]]:
        """(plan key, item id, unit) of every assignment of ``kind`` in ``role``."""
        if (kind, role) not in self._assigned:
            rows = self.conn.execute(select(
                assignments.c.plan_key, assignments.c.item_id, assignments.c.unit_code).where(
                assignments.c.item_kind == kind, assignments.c.role == role))
            self._assigned[(kind, role)] = {(f"{k}|{i}", u) for k, i, u in rows}
        return self._assigned[(kind, role)]

    def quality(self, unit: str) -> dict[str, float | None]:
        if self._quality is None:
            engine: Engine = self.conn.engine
            feeds = [self.catalog.contract(f) for f in FEED_TABLES
                     if not self.catalog.contract(f).publishes_values]
            rep = quality.report(engine, feeds, None, "month", self.period.start.isoformat(),
                                 self.until.isoformat())
            sums: dict[str, list[float]] = {}
            for r in rep["rows"]:
                if r.get("periods_due") is None:
                    continue
                s = sums.setdefault(r["unit"], [0.0, 0.0, 0.0, 0.0])
                s[0] += r["periods_met"]
                s[1] += r["periods_due"]
                if r["records"]:
                    s[2] += (r["on_time_share"] or 0.0) * r["records"]
                    s[3] += r["records"]
            self._quality = {u: {"completeness": s[0] / s[1] if s[1] else None,
                                 "timeliness": s[2] / s[3] if s[3] else None}
                             for u, s in sums.items()}
        return self._quality.get(unit, {"completeness": None, "timeliness": None})

    # -- one criterion ---------------------------------------------------------------------

    def _items(self, refs: list[str], kind: str) -> list[tuple[str, Target | Task]]:
        out: list[tuple[str, Target | Task]] = []
        for ref in refs:
            plan, _, ident = ref.partition(":")
            entry = self.catalog.plans[plan]
            items: list[Any] = entry.targets if kind == "target" else entry.tasks
            out.extend((plan, x) for x in items if ident in ("*", x.id))
        return out

    def _targets(self, n: Node, unit: str) -> CriterionInput:
        m = self.catalog.measurement
        assert m is not None
        implementing = self.assigned("target", "implementing")
        shares, parts = [], []
        for plan, t in self._items(n.targets, "target"):
            assert isinstance(t, Target)
            pb = m.plans.get(plan)
            b = pb.bindings.get(t.id) if pb else None
            if b is None or not b.indicators or b.level not in ("implementing", "records"):
                continue
            # implementing: the unit must implement it; records: the unit on the records
            # owns its value, whoever implements the target
            if b.level == "implementing" and (f"{plan_key(plan)}|{t.id}", unit) \
                    not in implementing:
                continue
            v = self.values(b.indicators[0]).get(unit)
            if v is None or v.value is None:
                continue
            share = progress_share(v.value, float(t.threshold), t.direction.higher_is_better)
            shares.append(share)
            parts.append(f"{t.id}: {b.indicators[0]} {v.value:.4g} / {t.threshold:g} "
                         f"→ {share:.2f}")
        if not shares:
            return CriterionInput(missing=True, source="no bound target with a value")
        return CriterionInput(value=sum(shares) / len(shares),
                              source=f"mean of {len(shares)} targets: " + "; ".join(parts))

    def _tasks(self, n: Node, unit: str) -> CriterionInput:
        lead = self.assigned("task", "lead")
        if self._evidence is None:
            self._evidence = stored_evidence(self.conn)
        counts: dict[str, list[str]] = {"on time": [], "late": [], "overdue": []}
        for plan, t in self._items(n.tasks, "task"):
            assert isinstance(t, Task)
            d = t.deadline
            if d.kind != "date" or d.date is None or d.date > self.until:
                continue
            key = plan_key(plan)
            if (f"{key}|{t.id}", unit) not in lead:
                continue
            pieces = [e for e in self._evidence.get(key, [])
                      if e.task == t.id and e.at <= self.until]
            done = completed_on(pieces, [unit], [unit])
            state = "overdue" if done is None else "on time" if done <= d.date else "late"
            counts[state].append(t.id)
        if not any(counts.values()):
            return CriterionInput(missing=True, source="no task of the unit due in the period")
        said = "; ".join(f"{state}: {', '.join(ids[:20])}" + (" …" if len(ids) > 20 else "")
                         for state, ids in counts.items() if ids)
        return CriterionInput(on_time=len(counts["on time"]), late=len(counts["late"]),
                              overdue=len(counts["overdue"]),
                              source=f"by the unit's evidence up to {self.until}: {said}")

    def criterion(self, n: Node, unit: str, rule: str) -> CriterionInput | None:
        if n.indicator is not None:
            v = self.values(n.indicator).get(unit)
            src = f"{n.indicator} {self.period.label}"
            if v is not None and v.value is not None:
                lo, hi = self.interval(n.indicator, v) or (None, None)
                return CriterionInput(value=v.value, source=src, low=lo, high=hi)
            inp = CriterionInput(missing=True, source=src)
            if rule == "last_known":
                old = self.values(n.indicator, last=True).get(unit)
                if old is not None and old.value is not None:
                    inp = CriterionInput(missing=True, last_known=old.value,
                                         last_known_period=old.period, source=src)
            return inp
        if n.targets:
            return self._targets(n, unit)
        if n.tasks:
            return self._tasks(n, unit)
        if n.data is not None:
            got = self.quality(unit)[n.data]
            src = f"intake data quality: {n.data} of the feeds the unit sends"
            return CriterionInput(missing=True, source=src) if got is None else \
                CriterionInput(value=got, source=src)
        return None  # awaiting data

    def inputs(self, method: Method, kind: str, unit: str) -> dict[str, CriterionInput]:
        out = {}
        for n in criteria(method.kinds[kind]):  # type: ignore[index]
            inp = self.criterion(n, unit, method.missing)
            if inp is not None:
                out[n.code] = inp
        return out


# -- trees as data -------------------------------------------------------------------------

def tree_dict(node: ScoreNode, method: Method, kind: str, unit: str, period: str
              ) -> dict[str, Any]:
    """The score tree as JSON, each criterion with its binding and drill-down links."""
    binding = {n.code: n for n in criteria(method.kinds[kind])}  # type: ignore[index]

    def walk(s: ScoreNode) -> dict[str, Any]:
        low, high = s.bounds()
        d: dict[str, Any] = {
            "code": s.code, "name": s.name, "points": round(s.points, 4),
            "low": round(low, 4), "high": round(high, 4),
            "max_points": round(s.max_points, 4), "formula": s.formula, "missing": s.missing,
            "stale": s.stale, "excluded": s.excluded, "value": s.value, "share": s.share,
            "source": s.source}
        n = binding.get(s.code)
        if n is not None and not s.children:
            d["input"] = ({"indicator": n.indicator} if n.indicator else
                          {"targets": n.targets} if n.targets else
                          {"tasks": n.tasks} if n.tasks else
                          {"data": n.data} if n.data else {"awaiting_data": n.awaiting_data})
            if n.indicator:
                q = f"period={period}&unit={unit}"
                d["links"] = {"values": f"/api/v1/indicators/{n.indicator}/values?{q}",
                              "records": f"/api/v1/indicators/{n.indicator}/records?{q}"}
        if s.children:
            d["children"] = [walk(c) for c in s.children]
        return d

    return walk(node)


def leaves(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if "children" not in tree:
        return {tree["code"]: tree}
    out: dict[str, dict[str, Any]] = {}
    for c in tree["children"]:
        out.update(leaves(c))
    return out


def bounds(tree: dict[str, Any]) -> tuple[float, float, float]:
    """(points, low, high) of a stored tree node; a tree stored before intervals were kept
    (or a criterion absent then) has the points at both ends."""
    pts = float(tree.get("points", 0.0))
    return pts, float(tree.get("low", pts)), float(tree.get("high", pts))


def plausible_ranks(trees: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per unit, the best and worst rank its score's interval allows: 1 + the units that are
    surely ahead of it, and the units not surely behind it (intervals.apart)."""
    b = {u: bounds(t) for u, t in trees.items()}
    out = {}
    for u, mine in b.items():
        ahead = behind = 0
        for v, other in b.items():
            if v != u and apart(mine, other):
                if other[0] > mine[0]:
                    ahead += 1
                else:
                    behind += 1
        out[u] = (1 + ahead, len(b) - behind)
    return out


def explain(before: dict[str, Any] | None, now: dict[str, Any]) -> list[dict[str, Any]]:
    """Which criteria moved between two trees, and by how much (largest moves first)."""
    if before is None:
        return []
    old = leaves(before)
    moved = []
    for code, leaf in leaves(now).items():
        was = old.get(code, {}).get("points", 0.0)
        delta = round(leaf["points"] - was, 4)
        if abs(delta) >= 0.005:
            moved.append({"criterion": code, "name": leaf["name"], "before": was,
                          "now": leaf["points"], "delta": delta,
                          "value_before": old.get(code, {}).get("value"),
                          "value_now": leaf["value"],
                          "within_noise": not apart(bounds(old.get(code, {})), bounds(leaf))})
    return sorted(moved, key=lambda x: -abs(x["delta"]))


# -- computing and storing -----------------------------------------------------------------

def method_for(catalog: Catalog, code: str, period: Period, today: date) -> Method:
    if catalog.methods is None or code not in catalog.methods.versions:
        raise KeyError(f"no scoring method {code!r}")
    return catalog.methods.in_force(code, min(period.end, today))


def scored_units(catalog: Catalog, kind: str) -> list[str]:
    return [u.code for u in catalog.units.of_kind(UnitKind(kind)) if u.scored]


def unit_score(conn: Connection, catalog: Catalog, code: str, unit: str, period: str,
               today: date, gatherer: Gatherer | None = None) -> dict[str, Any]:
    """One unit's score for a period, computed now from the stored values."""
    p = parse_period(period, today)
    method = method_for(catalog, code, p, today)
    u = catalog.units.units.get(unit)
    if u is None or u.kind.value not in method.kinds:
        raise KeyError(f"{method.code} scores no unit {unit!r}")
    kind = u.kind.value
    g = gatherer or Gatherer(conn, catalog, p, today)
    node = score(method, kind, g.inputs(method, kind, unit))
    tree = tree_dict(node, method, kind, unit, p.label)
    missing = [leaf for leaf in leaves(tree).values() if leaf["missing"]]
    awaiting = sum(1 for leaf in missing if "awaiting_data" in (leaf.get("input") or {}))
    return {"method": method.code, "version": method.version, "provisional": method.provisional,
            "missing_rule": method.missing, "awaiting_rule": method.awaiting, "unit": unit,
            "unit_name": u.name, "kind": kind, "period": p.label, "points": tree["points"],
            "max_points": tree["max_points"], "missing": len(missing), "awaiting": awaiting,
            "low": tree["low"], "high": tree["high"], "tree": tree}


def rank(points: dict[str, float]) -> dict[str, int]:
    """Competition ranking: 1 is best, ties share a rank (1, 2, 2, 4)."""
    ordered = sorted(points.items(), key=lambda x: (-round(x[1], 6), x[0]))
    out: dict[str, int] = {}
    for i, (u, pts) in enumerate(ordered):
        prev = ordered[i - 1] if i else None
        out[u] = out[prev[0]] if prev and round(prev[1], 6) == round(pts, 6) else i + 1
    return out


def compute(engine: Engine, catalog: Catalog, code: str, period: str, today: date,
            progress: Callable[[str], None] | None = None, reason: str = "compute",
            units: int | None = None) -> dict[str, Any]:
    """Score every scored unit of every kind the method covers for ``period``, rank them per
    kind and store scores (history rows where points or rank changed). Returns counts."""
    p = parse_period(period, today)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        method = method_for(catalog, code, p, today)
        g = Gatherer(conn, catalog, p, today)
        done = 0
        for kind in method.kinds:
            results = {}
            for unit in scored_units(catalog, kind)[:units]:
                results[unit] = unit_score(conn, catalog, code, unit, p.label, today, g)
                if progress:
                    progress(unit)
            ranks = rank({u: r["points"] for u, r in results.items()})
            old = {r.unit: r for r in conn.execute(select(scores).where(
                scores.c.method == method.code, scores.c.version == method.version,
                scores.c.period == p.label, scores.c.kind == kind))}
            conn.execute(delete(scores).where(
                scores.c.method == method.code, scores.c.version == method.version,
                scores.c.period == p.label, scores.c.kind == kind))
            rows, history = [], []
            for unit, r in results.items():
                row = {"method": method.code, "version": method.version, "unit": unit,
                       "period": p.label, "kind": kind, "points": r["points"],
                       "max_points": r["max_points"], "rank": ranks[unit],
                       "of": len(results), "missing": r["missing"], "tree": r["tree"],
                       "catalog": catalog.digest, "computed_at": now}
                rows.append(row)
                was = old.get(unit)
                if was is None or abs(was.points - r["points"]) > 1e-9 \
                        or was.rank != ranks[unit]:
                    history.append({k: row[k] for k in (
                        "method", "version", "unit", "period", "kind", "points", "rank", "of",
                        "tree", "computed_at")} | {"reason": reason})
            if rows:
                conn.execute(insert(scores), rows)
            if history:
                conn.execute(insert(score_history), history)
                webhooks.publish(
                    conn, webhooks.RANKING_PUBLISHED, f"{method.code}:{p.label}:{kind}",
                    {"method": method.code, "version": method.version, "period": p.label,
                     "kind": kind, "units": len(rows), "changed": len(history),
                     "top": [{"unit": u, "rank": ranks[u]} for u in sorted(
                         ranks, key=lambda u: (ranks[u], u))[:10]]},
                    now, debounce=webhooks.DEBOUNCE_SECONDS)
            done += len(rows)
    return {"method": method.code, "version": method.version, "period": p.label,
            "units": done}


def stored_score(conn: Connection, code: str, unit: str, period: str) -> dict[str, Any] | None:
    r = conn.execute(select(scores).where(scores.c.method == code, scores.c.unit == unit,
                                          scores.c.period == period)
                     .order_by(scores.c.computed_at.desc())).mappings().first()
    return dict(r) if r else None


def stored_place(conn: Connection, code: str, unit: str, kind: str, period: str
                 ) -> dict[str, Any] | None:
    """Where a unit's stored score for ``period`` stands: the best and worst rank its
    interval allows among the kind's stored scores (``plausible_ranks``), and the change since
    the previous period (its points and rank, whether the move is within the two scores'
    intervals, the criteria that moved). None when the unit has no stored score."""
    q = select(scores).where(scores.c.method == code, scores.c.period == period,
                             scores.c.kind == kind)
    now = {r["unit"]: dict(r) for r in conn.execute(q).mappings()}
    mine = now.get(unit)
    if mine is None:
        return None
    best, worst = plausible_ranks({u: r["tree"] for u, r in now.items()})[unit]
    prev_label = previous_period(period)
    b = stored_score(conn, code, unit, prev_label) if prev_label else None
    return {"rank_best": best, "rank_worst": worst,
            "previous": None if b is None else {"rank": b["rank"], "points": b["points"]},
            "rank_change": None if b is None else b["rank"] - mine["rank"],
            "points_change": None if b is None else round(mine["points"] - b["points"], 4),
            "within_noise": None if b is None else not apart(bounds(b["tree"]),
                                                             bounds(mine["tree"])),
            "explanation": explain(b["tree"] if b else None, mine["tree"])}


def ranking(conn: Connection, catalog: Catalog, code: str, kind: str, period: str,
            today: date, *, compute: bool = True) -> dict[str, Any]:
    """Ranks of one kind of unit for a period, with the change since the previous period and
    which criteria moved. Stored scores are read; without any, they are computed now (not
    stored: ``stored`` is false), or with ``compute`` false the answer has no units."""
    p = parse_period(period, today)
    method = method_for(catalog, code, p, today)
    if kind not in method.kinds:
        raise KeyError(f"{method.code} has no tree for {kind}")

    def read(label: str) -> dict[str, dict[str, Any]]:
        q = select(scores).where(scores.c.method == method.code, scores.c.period == label,
                                 scores.c.kind == kind)
        return {r["unit"]: dict(r) for r in conn.execute(q).mappings()}

    now = read(p.label)
    stored = bool(now)
    if not stored and not compute:
        now = {}
    elif not stored:
        g = Gatherer(conn, catalog, p, today)
        now = {u: unit_score(conn, catalog, code, u, p.label, today, g)
               for u in scored_units(catalog, kind)}
        for code_, place in rank({k: v["points"] for k, v in now.items()}).items():
            now[code_]["rank"] = place
    prev_label = previous_period(p.label)
    before = read(prev_label) if prev_label else {}
    rows = []
    plausible = plausible_ranks({k: v["tree"] for k, v in now.items()})
    for unit, r in sorted(now.items(), key=lambda x: (x[1]["rank"], x[0])):
        b = before.get(unit)
        u = catalog.units.units.get(unit)
        _, low, high = bounds(r["tree"])
        rows.append({
            "rank": r["rank"], "unit": unit, "name": u.name if u else unit,
            "points": r["points"], "low": low, "high": high,
            "rank_best": plausible[unit][0], "rank_worst": plausible[unit][1],
            "within_noise": None if b is None else not apart(bounds(b["tree"]),
                                                             bounds(r["tree"])),
            "missing": r["missing"],
            "computed_at": r["computed_at"].isoformat() if r.get("computed_at") else None,
            "previous": None if b is None else {"rank": b["rank"], "points": b["points"]},
            "rank_change": None if b is None else b["rank"] - r["rank"],
            "points_change": None if b is None else round(r["points"] - b["points"], 4),
            "explanation": explain(b["tree"] if b else None, r["tree"])})
    return {"method": method.code, "version": method.version,
            "provisional": method.provisional, "kind": kind, "period": p.label,
            "previous_period": prev_label, "stored": stored, "units": rows}
