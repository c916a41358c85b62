"""Loading the catalog: plan folders and unit files, validated, cross-checked, counted.

Layout of the data folder (``chiso/data`` unless ``CHISO_DATA_DIR`` says otherwise)::

    plans/<folder>/plan.yaml        the plan (key ``plan:``)
    plans/<folder>/targets*.yaml    its targets (key ``targets:``)
    plans/<folder>/tasks*.yaml      its tasks (key ``tasks:``)
    units/communes.csv, units/*.yaml
    reports/*.yaml                  report kinds (reports.py)

Every problem becomes a :class:`CatalogError` naming the file, the item and the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from chiso.catalog.dashboard import Dashboard, load_dashboard
from chiso.catalog.errors import CatalogError
from chiso.catalog.feeds import Contract, load_contracts
from chiso.catalog.files import load_model
from chiso.catalog.indicators import Measurement, load_measurement
from chiso.catalog.methods import Methods, load_methods
from chiso.catalog.models import Group, Plan, PlanFile, Target, TargetsFile, Task, TasksFile
from chiso.catalog.reports import ReportKind, load_reports
from chiso.catalog.workdays import WorkCalendar, load_calendar
from chiso.units.registry import UnitRegistry, load_units

M = TypeVar("M", bound=BaseModel)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass
class PlanEntry:
    """A plan with its targets and tasks, and the files they came from."""

    plan: Plan
    folder: Path

    def __post_init__(self) -> None:
        self.groups = list(self.plan.groups)
    groups: list[Group] = field(default_factory=list)  # plan.yaml's, then the item files'
    targets: list[Target] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # item id -> file it is defined in

    @property
    def seed(self) -> str:
        return self.plan.seed or ""

    def seed_of(self, item: Target | Task) -> str:
        return item.seed or self.seed


@dataclass(frozen=True)
class AgencyRef:
    """One agency name as a catalog item writes it, and where."""

    plan: str
    item: str
    field: str
    name: str
    file: str


@dataclass
class Catalog:
    """Everything the catalog holds, loaded and cross-checked."""

    plans: dict[str, PlanEntry]
    units: UnitRegistry
    digest: str
    measurement: Measurement | None = None  # indicators and plan bindings (indicators.py)
    methods: Methods | None = None  # scoring methods, every version (methods.py)
    dashboard: Dashboard | None = None  # the dashboard's groups and tiles (dashboard.py)
    calendar: WorkCalendar | None = None  # Vietnamese working days (workdays.py)
    reports: dict[str, ReportKind] = field(default_factory=dict)  # report kinds (reports.py)
    feeds: dict[str, Contract] = field(default_factory=dict)  # feed contracts (feeds.py)

    def contract(self, feed: str) -> Contract:
        """The contract of ``feed``; KeyError naming the known feeds otherwise."""
        try:
            return self.feeds[feed]
        except KeyError:
            known = ", ".join(sorted(self.feeds))
            raise KeyError(f"unknown feed {feed!r}; known feeds: {known}") from None

    def plan(self, number: str) -> PlanEntry:
        return self.plans[number]

    def agency_refs(self) -> Iterator[AgencyRef]:
        """Every agency name a target, task or reporting rule carries."""
        for number, entry in self.plans.items():
            plan_file = str(entry.folder / "plan.yaml")
            for rule in entry.plan.reporting:
                for role in ("reporters", "recipients"):
                    for name in getattr(rule, role):
                        yield AgencyRef(number, f"reporting@{rule.lines}", role, name, plan_file)
            for target in entry.targets:
                for role in ("tracking", "implementing", "coordinating"):
                    for name in getattr(target, role):
                        yield AgencyRef(number, target.id, role, name, entry.origin[target.id])
            for task in entry.tasks:
                for role in ("lead", "coordinating"):
                    for name in getattr(task, role):
                        yield AgencyRef(number, task.id, role, name, entry.origin[task.id])

    def unresolved(self) -> list[AgencyRef]:
        return [ref for ref in self.agency_refs() if self.units.resolve(ref.name) is None]

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts per plan, keyed by plan number (the shape ``chiso catalog stats`` prints)."""
        out: dict[str, dict[str, int]] = {}
        for number, entry in self.plans.items():
            counts: dict[str, int] = {}
            rows = {t.row for t in entry.targets if t.row is not None}
            if rows:  # rows of the targets appendix; body-only targets have none
                counts["target_rows"] = len(rows)
            if entry.targets:
                counts["targets"] = len(entry.targets)
            body = [t for t in entry.tasks if t.section == "body"]
            appendix = [t for t in entry.tasks if t.section == "appendix"]
            if body:
                counts["tasks"] = len(body)
            if appendix:
                counts["appendix_task_rows"] = len(appendix)
            counts["notes"] = sum(1 for _ in iter_notes(entry))
            if self.measurement is not None:
                counts.update(self.measurement.stats(number))
            out[number] = counts
        return out


def iter_notes(entry: PlanEntry) -> Iterator[tuple[str, Any]]:
    """(item id, note) for every note on the plan, its groups, targets and tasks."""
    for note in entry.plan.notes:
        yield entry.plan.number, note
    for group in entry.groups:
        for note in group.notes:
            yield f"group {group.code}", note
    for target in entry.targets:
        for note in target.notes:
            yield target.id, note
    for task in entry.tasks:
        for note in task.notes:
            yield task.id, note
        for milestone in task.milestones:
            for note in milestone.notes:
                yield task.id, note


def _load_plan(folder: Path) -> PlanEntry:
    plan_path = folder / "plan.yaml"
    if not plan_path.exists():
        raise CatalogError(str(folder), None, None, "plan folder has no plan.yaml")
    entry = PlanEntry(load_model(plan_path, PlanFile).plan, folder)
    files = [(p, load_model(p, TargetsFile)) for p in sorted(folder.glob("targets*.yaml"))] + [
        (p, load_model(p, TasksFile)) for p in sorted(folder.glob("tasks*.yaml"))
    ]
    # Groups may be declared in plan.yaml or beside the items that use them.
    group_origin = {g.code: str(plan_path) for g in entry.plan.groups}
    for path, content in files:
        for group in content.groups:
            if group.code in group_origin:
                raise CatalogError(str(path), f"group {group.code}", "code",
                                   f"duplicate group, first defined in {group_origin[group.code]}")
            group_origin[group.code] = str(path)
            entry.groups.append(group)
    groups = set(group_origin)
    for path, content in files:
        if isinstance(content, TargetsFile):
            for target in content.targets:
                _register(entry, target.id, path, groups, target.group)
                entry.targets.append(target)
        else:
            for task in content.tasks:
                _register(entry, task.id, path, groups, task.group)
                entry.tasks.append(task)
    known = {p.name for p in folder.glob("*.yaml")}
    stray = known - {"plan.yaml"} - {p.name for p in folder.glob("targets*.yaml")} - {
        p.name for p in folder.glob("tasks*.yaml")
    }
    if stray:
        raise CatalogError(str(folder / sorted(stray)[0]), None, None,
                           "unknown file: name it plan.yaml, targets*.yaml or tasks*.yaml")
    return entry


def _register(entry: PlanEntry, item_id: str, path: Path, groups: set[str], group: str) -> None:
    if item_id in entry.origin:
        raise CatalogError(str(path), item_id, "id",
                           f"duplicate id, first defined in {entry.origin[item_id]}")
    if group not in groups:
        raise CatalogError(str(path), item_id, "group",
                           f"group {group!r} is not one of the plan's groups")
    entry.origin[item_id] = str(path)


def _digest(data_dir: Path) -> str:
    """A content hash of every catalog file: the catalog's version as stored with results."""
    h = hashlib.sha256()
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(data_dir)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """Load and cross-check the whole catalog; raises :class:`CatalogError` on any problem."""
    data_dir = data_dir or DEFAULT_DATA_DIR
    units = load_units(data_dir / "units")
    plans: dict[str, PlanEntry] = {}
    for folder in sorted(p for p in (data_dir / "plans").iterdir() if p.is_dir()):
        entry = _load_plan(folder)
        if entry.plan.number in plans:
            raise CatalogError(str(folder / "plan.yaml"), entry.plan.number, "number",
                               "two plan folders carry the same number")
        plans[entry.plan.number] = entry
    feeds = load_contracts(data_dir / "feeds") if (data_dir / "feeds").is_dir() else {}
    measurement = load_measurement(data_dir, plans, feeds)
    methods = load_methods(data_dir, plans, measurement)
    dashboard = load_dashboard(data_dir, plans, measurement, methods)
    cal_file = data_dir / "calendar" / "vn.yaml"
    calendar = load_calendar(cal_file) if cal_file.exists() else None
    reports = load_reports(data_dir, plans, units, methods)
    return Catalog(plans, units, _digest(data_dir), measurement, methods, dashboard, calendar,
                   reports, feeds)


def deadline_errors(catalog: Catalog) -> list[CatalogError]:
    """One error per task or milestone whose deadline words name no date, cycle or schedule."""
    out: list[CatalogError] = []
    for entry in catalog.plans.values():
        for task in entry.tasks:
            file = entry.origin[task.id]
            if task.deadline_text and task.deadline.kind == "none":
                out.append(CatalogError(file, task.id, "deadline_text",
                                        f"cannot read {task.deadline_text!r} as a deadline; "
                                        "fix the words or set deadline_override with a note"))
            for i, ms in enumerate(task.milestones):
                if ms.due.kind == "none":
                    out.append(CatalogError(file, f"{task.id}.milestones[{i}]", "due_text",
                                            f"cannot read {ms.due_text!r} as a deadline"))
    return out


def unresolved_errors(catalog: Catalog) -> list[CatalogError]:
    """One error per agency name that resolves to no unit or group."""
    return [
        CatalogError(ref.file, ref.item, ref.field,
                     f"agency name {ref.name!r} resolves to no unit or group; "
                     "add it as an alias of a unit or group in units/*.yaml")
        for ref in catalog.unresolved()
    ]
