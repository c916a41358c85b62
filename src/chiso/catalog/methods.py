"""Scoring methods as versioned catalog data (SPEC C5, docs/scoring.md).

Files: ``data/methods/<code>.yaml``, key ``method:``. A method is a tree per kind of unit
(``department``, ``commune``): groups hold groups or criteria; every node has ``points`` or a
``weight`` (weights share out the parent's points; points must add up to the parent's). A
criterion is bound to exactly one input: an ``indicator`` code, ``targets`` or ``tasks`` of a
plan (``"131/KH-UBND:I.11"`` or ``"131/KH-UBND:*"``), or ``awaiting_data`` with the reason;
and scored by a ``function``: linear between a floor and the target, threshold, bands,
progress (a share 0–1 given as input) or tasks (on time / late / overdue).

Missing data follows the method's explicit rule (``zero``, ``exclude`` with re-weighting, or
``last_known``), and is always shown. A method carries a version and a validity period; a
change of weights is a new version in a new file, and old periods keep the version in force.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chiso.catalog.errors import CatalogError
from chiso.catalog.files import read_mapping
from chiso.catalog.models import Direction

if TYPE_CHECKING:
    from chiso.catalog.indicators import Measurement
    from chiso.catalog.loader import PlanEntry

TOLERANCE = 0.01
ScoredKind = Literal["department", "agency", "commune"]
MissingRule = Literal["zero", "exclude", "last_known"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(Strict):
    """From ``min`` (inclusive; ``max`` for lower-is-better) the criterion earns ``share``."""

    at: float
    share: float = Field(ge=0, le=1)


class Function(Strict):
    """How a criterion's input becomes a share (0–1) of its points."""

    kind: Literal["linear", "threshold", "bands", "progress", "tasks"]
    floor: float | None = Field(default=None, description="linear: value earning nothing")
    target: float | None = Field(default=None, description="linear: value earning everything")
    threshold: float | None = None
    direction: Direction = Direction.ge
    bands: list[Band] = Field(default_factory=list)
    late_share: float = Field(default=0.5, ge=0, le=1, description="tasks: credit for late")

    @model_validator(mode="after")
    def _params(self) -> Function:
        need = {"linear": ("floor", "target"), "threshold": ("threshold",)}.get(self.kind, ())
        for name in need:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.kind} function needs {name}")
        if self.kind == "linear" and self.floor == self.target:
            raise ValueError("floor and target must differ")
        if self.kind == "bands" and not self.bands:
            raise ValueError("a bands function needs bands")
        return self


class Node(Strict):
    """A group (has ``children``) or a criterion (has an input binding and a function)."""

    code: str
    name_vi: str
    name_en: str | None = None
    points: float | None = Field(default=None, ge=0)
    weight: float | None = Field(default=None, gt=0)
    children: list[Node] = Field(default_factory=list)
    indicator: str | None = None
    targets: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    data: Literal["completeness", "timeliness"] | None = Field(
        default=None, description="data accountability of the feeds the unit sends (intake)")
    awaiting_data: str | None = None
    function: Function | None = None
    note: str | None = None

    @property
    def is_group(self) -> bool:
        return bool(self.children)

    @model_validator(mode="after")
    def _shape(self) -> Node:
        if (self.points is None) == (self.weight is None):
            raise ValueError("give exactly one of points or weight")
        bound = [self.indicator is not None, bool(self.targets), bool(self.tasks),
                 self.data is not None, self.awaiting_data is not None]
        if self.children:
            if any(bound) or self.function is not None:
                raise ValueError("a group has children, not an input or a function")
            if len({c.points is None for c in self.children}) > 1:
                raise ValueError("children use all points or all weights, not a mix")
            if len({c.code for c in self.children}) != len(self.children):
                raise ValueError("two children share a code")
        else:
            if sum(bound) != 1:
                raise ValueError("a criterion has exactly one of indicator, targets, tasks, "
                                 "data, awaiting_data")
            if self.function is None and self.awaiting_data is None:
                raise ValueError("a bound criterion needs a function")
        return self


class Method(Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str
    valid_from: date
    valid_to: date | None = None
    name_vi: str
    name_en: str
    provisional: bool = Field(default=False, description="weights the operator must replace")
    note: str | None = None
    basis: str | None = Field(default=None, description="The instrument it is shaped on")
    missing: MissingRule
    awaiting: Literal["zero", "exclude"] = Field(
        default="zero",
        description="criteria awaiting data (no source yet, for every unit): zero earns 0 "
        "points; exclude leaves them out and re-weights their siblings, so the attainable "
        "maximum stays the total")
    total: float = 100
    kinds: dict[ScoredKind, list[Node]] = Field(min_length=1)

    @model_validator(mode="after")
    def _period(self) -> Method:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class MethodFile(Strict):
    method: Method


Node.model_rebuild()


def allotted(nodes: list[Node], points: float) -> list[float]:
    """The points each of ``nodes`` carries when together they share ``points``."""
    if nodes and nodes[0].weight is not None:
        total = sum(n.weight or 0 for n in nodes)
        return [points * (n.weight or 0) / total for n in nodes]
    return [n.points or 0.0 for n in nodes]


def criteria(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for n in nodes:
        out.extend(criteria(n.children) if n.is_group else [n])
    return out


@dataclass
class Methods:
    """Every version of every method, by code, oldest first."""

    versions: dict[str, list[Method]] = field(default_factory=dict)
    origin: dict[tuple[str, str], str] = field(default_factory=dict)  # (code, version) -> file

    def in_force(self, code: str, on: date) -> Method:
        for m in reversed(self.versions[code]):
            if m.valid_from <= on and (m.valid_to is None or on <= m.valid_to):
                return m
        raise KeyError(f"no version of {code} in force on {on}")


def _check_tree(m: Method, file: str, indicators: Mapping[str, Any],
                plans: Mapping[str, PlanEntry]) -> None:
    def fail(item: str, fld: str, msg: str) -> CatalogError:
        return CatalogError(file, item, fld, msg)

    def walk(kind: str, nodes: list[Node], points: float, path: str) -> None:
        if nodes and nodes[0].points is not None:
            total = sum(n.points or 0 for n in nodes)
            if abs(total - points) > TOLERANCE:
                raise fail(path, "points", f"children add up to {total:g}, not {points:g}")
        codes = [n.code for n in nodes]
        if len(set(codes)) != len(codes):
            raise fail(path, "code", "two nodes share a code")
        for n, pts in zip(nodes, allotted(nodes, points), strict=True):
            item = f"{kind}/{n.code}"
            if n.is_group:
                walk(kind, n.children, pts, item)
                continue
            if n.indicator is not None and n.indicator not in indicators:
                raise fail(item, "indicator", f"unknown indicator {n.indicator!r}")
            for fld in ("targets", "tasks"):
                for ref in getattr(n, fld):
                    plan, _, ident = ref.partition(":")
                    if plan not in plans:
                        raise fail(item, fld, f"no plan {plan!r} in the catalog")
                    ids = {t.id for t in getattr(plans[plan], fld)}
                    if ident != "*" and ident not in ids:
                        raise fail(item, fld, f"no {fld[:-1]} {ident!r} in {plan}")

    for kind, tops in m.kinds.items():
        walk(kind, tops, m.total, kind)


def load_methods(data_dir: Path, plans: Mapping[str, PlanEntry],
                 measurement: Measurement | None) -> Methods | None:
    """Every ``data_dir/methods/*.yaml``, validated; None when the folder does not exist."""
    directory = data_dir / "methods"
    if not directory.is_dir():
        return None
    indicators = measurement.indicators if measurement is not None else {}
    out = Methods()
    for path in sorted(directory.glob("*.yaml")):
        file = str(path)
        data = read_mapping(path)
        try:
            method = MethodFile.model_validate(data).method
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [str(p) for p in err["loc"]]
            code = data.get("method", {}).get("code") if isinstance(data.get("method"),
                                                                        dict) else None
            raise CatalogError(file, code or "method", ".".join(loc[1:]) or None,
                               err["msg"]) from exc
        _check_tree(method, file, indicators, plans)
        key = (method.code, method.version)
        if key in out.origin:
            raise CatalogError(file, method.code, "version",
                               f"version {method.version} also defined in {out.origin[key]}")
        out.origin[key] = file
        versions = out.versions.setdefault(method.code, [])
        versions.append(method)
        versions.sort(key=lambda v: v.valid_from)
        for a, b in itertools.pairwise(versions):
            if a.valid_to is None or a.valid_to >= b.valid_from:
                raise CatalogError(file, method.code, "valid_from",
                                   f"versions {a.version} and {b.version} overlap")
    return out
