"""Scoring a unit by a method: a pure function from criterion inputs to a score tree.

No database here: the caller gathers each criterion's input (an indicator value, a progress
share, task counts, or a missing marker with the last known value) and gets back the whole tree
with points, the formula that gave them, and every missing input shown (docs/scoring.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chiso.catalog.methods import Function, Method, Node, allotted
from chiso.scoring.intervals import quadrature


@dataclass(frozen=True)
class CriterionInput:
    """What a criterion is scored on. ``value`` None (or ``missing``) means no current data."""

    value: float | None = None  # indicator value, or progress share 0–1 for a progress function
    missing: bool = False
    last_known: float | None = None  # for the last_known rule
    last_known_period: str | None = None
    on_time: int = 0  # tasks done on time
    late: int = 0  # tasks done late
    overdue: int = 0  # tasks past their deadline, not done
    source: str | None = None  # where the value came from (indicator code, period), for drill-down
    low: float | None = None  # the value's 95% interval, from the counts behind it
    high: float | None = None

    @property
    def tasks_total(self) -> int:
        return self.on_time + self.late + self.overdue


@dataclass
class ScoreNode:
    code: str
    name: str
    max_points: float
    points: float  # points earned (0 when missing under "zero", or excluded)
    formula: str
    missing: bool = False  # the input was missing (shown, never dropped)
    stale: bool = False  # scored on a last known value
    excluded: bool = False  # left out, its points shared by its siblings
    value: float | None = None
    share: float | None = None
    source: str | None = None
    children: list[ScoreNode] = field(default_factory=list)
    low: float | None = None  # the points' 95% interval (None: set to the points)
    high: float | None = None

    def bounds(self) -> tuple[float, float]:
        """(low, high) of the points; the points themselves when no interval is known."""
        if self.low is None or self.low > self.points:
            self.low = self.points
        if self.high is None or self.high < self.points:
            self.high = self.points
        return self.low, self.high

    def find(self, code: str) -> ScoreNode:
        if self.code == code:
            return self
        for c in self.children:
            try:
                return c.find(code)
            except KeyError:
                continue
        raise KeyError(code)


def _clamp(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def apply(fn: Function, value: float) -> tuple[float, str]:
    """The share (0–1) of the points a value earns, and the formula in words."""
    if fn.kind == "linear":
        lo, hi = float(fn.floor or 0), float(fn.target or 0)
        return _clamp((value - lo) / (hi - lo)), f"clamp(({value:g} − {lo:g}) / ({hi:g} − {lo:g}))"
    if fn.kind == "threshold":
        met = fn.direction.met(value, float(fn.threshold or 0))
        return (1.0 if met else 0.0), f"{value:g} {fn.direction.value} {fn.threshold:g}"
    if fn.kind == "bands":
        better = fn.direction.higher_is_better
        share = 0.0
        for b in sorted(fn.bands, key=lambda b: b.at, reverse=not better):
            if (value >= b.at) if better else (value <= b.at):
                share = b.share
        return share, f"band of {value:g} → {share:g}"
    if fn.kind == "progress":
        return _clamp(value), f"progress {value:g}"
    raise ValueError(f"function {fn.kind} takes task counts, not a value")


def _criterion(n: Node, pts: float, inp: CriterionInput | None, rule: str) -> ScoreNode:
    node = ScoreNode(n.code, n.name_vi, pts, 0.0, "", source=inp.source if inp else None)
    fn = n.function
    if fn is not None and fn.kind == "tasks" and inp is not None and inp.tasks_total:
        share = _clamp((inp.on_time + fn.late_share * inp.late) / inp.tasks_total)
        node.share, node.points = share, share * pts
        node.formula = (f"{pts:g} × ({inp.on_time} + {fn.late_share:g} × {inp.late}) / "
                        f"{inp.tasks_total}")
        return node
    value = None if inp is None or inp.missing else inp.value
    if fn is None or value is None:
        node.missing = True
        if n.awaiting_data is not None:
            node.formula = f"awaiting data: {n.awaiting_data}"
        if rule == "last_known" and fn is not None and inp is not None \
                and inp.last_known is not None and fn.kind != "tasks":
            node.stale = True
            value = inp.last_known
        elif rule == "exclude":
            node.excluded = True
            node.formula = (f"{node.formula}; excluded, siblings re-weighted" if node.formula
                            else "missing: excluded, siblings re-weighted")
            return node
        else:
            node.formula = node.formula or "missing: 0 points"
            if rule == "last_known":
                node.formula += " (no last known value)"
            return node
    assert fn is not None
    assert value is not None
    share, how = apply(fn, value)
    node.value, node.share, node.points = value, share, share * pts
    if not node.stale and inp is not None and inp.low is not None and inp.high is not None:
        ends = [apply(fn, inp.low)[0] * pts, apply(fn, inp.high)[0] * pts]
        node.low, node.high = min(ends), max(ends)
    node.formula = f"{pts:g} × {how}" + (
        f" (last known, {inp.last_known_period})" if node.stale and inp else "")
    return node


def _group(n: Node, pts: float, children: list[ScoreNode], rule: str) -> ScoreNode:
    node = ScoreNode(n.code, n.name_vi, pts, 0.0, "", children=children)
    node.missing = any(c.missing for c in children)
    if rule == "exclude" or any(c.excluded for c in children):
        kept = [c for c in children if not c.excluded]
        avail = sum(c.max_points for c in kept)
        if not kept or avail == 0:
            node.excluded = True
            node.formula = "every input missing: excluded"
            return node
        earned = sum(c.points for c in kept)
        node.points = earned * pts / avail
        node.low, node.high = quadrature(node.points, _parts(kept), pts / avail, pts)
        node.formula = (f"{earned:g} / {avail:g} × {pts:g}" if avail != pts
                        else f"sum of {len(kept)} criteria")
        return node
    node.points = sum(c.points for c in children)
    node.low, node.high = quadrature(node.points, _parts(children), 1.0, pts)
    node.formula = f"sum of {len(children)}"
    return node


def _parts(nodes: list[ScoreNode]) -> list[tuple[float, float, float]]:
    return [(c.points, *c.bounds()) for c in nodes]


def score(method: Method, kind: str, inputs: Mapping[str, CriterionInput]) -> ScoreNode:
    """The score tree of one unit of ``kind`` under ``method``, from the inputs by criterion
    code. A criterion with no entry in ``inputs`` is missing."""
    if kind not in method.kinds:
        raise KeyError(f"method {method.code} {method.version} has no tree for {kind}")

    def walk(nodes: list[Node], points: float) -> list[ScoreNode]:
        out = []
        for n, pts in zip(nodes, allotted(nodes, points), strict=True):
            if n.is_group:
                out.append(_group(n, pts, walk(n.children, pts), method.missing))
            else:
                rule = ("exclude" if n.awaiting_data is not None and method.awaiting == "exclude"
                        else method.missing)
                out.append(_criterion(n, pts, inputs.get(n.code), rule))
        return out

    root = Node(code=method.code, name_vi=method.name_vi, points=method.total,
                children=method.kinds[kind])
    return _group(root, method.total, walk(root.children, method.total), method.missing)
