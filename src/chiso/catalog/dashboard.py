"""The operations dashboard as catalog data (SPEC C7, docs/dashboard.md).

Files: ``data/dashboard/<nn>-<group>.yaml``, one per data group, each a ``group:`` (id, order,
titles) and its ``tiles:``. A tile states the operational question it answers and one
``measure`` — what its number is:

- ``indicator``: an indicator's value for the city over the current ``period`` (month,
  quarter, ytd); with ``where: n``, the n units that pull it down most;
- ``tasks``: how many tasks are ``overdue`` or ``due_soon`` (optionally of one plan);
- ``targets``: how many of a plan's targets are flagged (at risk or behind);
- ``ranking``: a scoring method's ranking of departments or communes;
- ``decisions``: decisions taken from the dashboard this month (the decision log);
- ``alerts``: alerts raised in the last 30 days.

Its status comes from a plan ``target`` (the outlook's five statuses) or a ``goal`` (a
comparison with a margin for "at risk"); without either it has none to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chiso.catalog.errors import CatalogError
from chiso.catalog.files import read_mapping

if TYPE_CHECKING:
    from chiso.catalog.indicators import Measurement
    from chiso.catalog.loader import PlanEntry
    from chiso.catalog.methods import Methods


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndicatorMeasure(Strict):
    kind: Literal["indicator"]
    indicator: str
    period: Literal["month", "quarter", "ytd", "plan"] = Field(
        default="month", description="plan: from the window start of the tile's target (a "
        "cumulative binding, a running total such as enterprises supported since 2026) to today")
    where: int = Field(default=0, ge=0, le=10, description="list the n units pulling it down")


class TasksMeasure(Strict):
    kind: Literal["tasks"]
    show: Literal["overdue", "due_soon"]
    plan: str | None = None
    days: int = Field(default=30, ge=1, le=366, description="due_soon: within this many days")
    where: int = Field(default=3, ge=0, le=10)


class TargetsMeasure(Strict):
    kind: Literal["targets"]
    plan: str


class RankingMeasure(Strict):
    kind: Literal["ranking"]
    method: str
    units: Literal["department", "agency", "commune"]
    period: Literal["month", "quarter", "ytd"] = "ytd"
    where: int = Field(default=3, ge=0, le=10)


class DecisionsMeasure(Strict):
    kind: Literal["decisions"]


class AlertsMeasure(Strict):
    kind: Literal["alerts"]
    days: int = Field(default=30, ge=1, le=366)


class OwnMeasure(Strict):
    """One of chiso's own results (plan 131, Appendix 02 row 7), from chiso's own data."""

    kind: Literal["own"]
    result: Literal["scored_units", "realtime_targets", "system_values", "early_flags",
                    "reports_written"]


class SmeMeasure(Strict):
    """One of the SME programme's own questions (plan 232), from its records
    (``chiso.dashboard.sme_programme``): the communes or the sectors that lag, the exemplary
    enterprises by sector, the readiness levels raised this year."""

    kind: Literal["sme"]
    show: Literal["lagging_communes", "lagging_sectors", "exemplary_by_sector", "results"]
    where: int = Field(default=5, ge=1, le=20)


Measure = Annotated[IndicatorMeasure | TasksMeasure | TargetsMeasure | RankingMeasure
                    | DecisionsMeasure | AlertsMeasure | OwnMeasure | SmeMeasure,
                    Field(discriminator="kind")]


class Goal(Strict):
    """Met when ``value op goal``; "at risk" within ``margin`` of it; otherwise behind."""

    op: Literal[">=", ">", "<=", "<"]
    value: float
    margin: float = Field(default=0, ge=0)


class Tile(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title_vi: str
    title_en: str
    question_vi: str = Field(description="the operational question, in Vietnamese")
    question_en: str
    measure: Measure
    target: str | None = Field(default=None, pattern=r"^[^:]+:[^:]+$",
                               description="a plan target, as '131/KH-UBND:I.11'")
    goal: Goal | None = None
    stale_after_hours: float = Field(default=24, gt=0,
                                     description="older data is marked stale")
    group: str = ""  # filled from the file's group

    @property
    def indicator(self) -> str | None:
        return self.measure.indicator if isinstance(self.measure, IndicatorMeasure) else None


class Group(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    order: int
    title_vi: str
    title_en: str
    summary_vi: str | None = None
    summary_en: str | None = None


class GroupFile(Strict):
    group: Group
    tiles: list[Tile] = Field(min_length=1)


@dataclass
class Dashboard:
    groups: list[GroupFile] = field(default_factory=list)  # in display order
    tiles: dict[str, Tile] = field(default_factory=dict)  # every tile by id, group filled


def _check(tile: Tile, file: str, plans: Mapping[str, PlanEntry],
           measurement: Measurement | None, methods: Methods | None) -> None:
    m = tile.measure
    if isinstance(m, IndicatorMeasure) and (measurement is None
                                            or m.indicator not in measurement.indicators):
        raise CatalogError(file, tile.id, "measure.indicator", f"no indicator {m.indicator!r}")
    plan = getattr(m, "plan", None)
    if plan is not None and plan not in plans:
        raise CatalogError(file, tile.id, "measure.plan", f"no plan {plan!r}")
    if isinstance(m, RankingMeasure) and (methods is None or m.method not in methods.versions):
        raise CatalogError(file, tile.id, "measure.method", f"no scoring method {m.method!r}")
    if tile.target is not None:
        number, _, target_id = tile.target.partition(":")
        if number not in plans or not any(t.id == target_id for t in plans[number].targets):
            raise CatalogError(file, tile.id, "target", f"no target {tile.target!r}")
    if isinstance(m, IndicatorMeasure) and m.period == "plan":
        number, _, target_id = (tile.target or "").partition(":")
        pb = measurement.plans.get(number) if measurement else None
        binding = pb.bindings.get(target_id) if pb else None
        if binding is None or not binding.cumulative:
            raise CatalogError(file, tile.id, "measure.period",
                               "period plan needs a target bound cumulatively (with "
                               "window_start)")
    if tile.target is not None and tile.goal is not None:
        raise CatalogError(file, tile.id, "goal", "give a target or a goal, not both")


def _located(file: str, data: dict[str, object], exc: ValidationError) -> CatalogError:
    """Name the tile by its id (or the group) and the field."""
    loc = list(exc.errors()[0]["loc"])
    if loc and loc[0] == "tiles":
        return CatalogError.from_validation(file, "tiles", data.get("tiles"), exc, skip=1)
    return CatalogError(file, "group", ".".join(str(p) for p in loc[1:]) or None,
                        exc.errors()[0]["msg"])


def load_dashboard(data_dir: Path, plans: Mapping[str, PlanEntry],
                   measurement: Measurement | None, methods: Methods | None
                   ) -> Dashboard | None:
    """Every ``data_dir/dashboard/*.yaml``, validated; None when the folder does not exist."""
    directory = data_dir / "dashboard"
    if not directory.is_dir():
        return None
    out = Dashboard()
    seen_groups: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        file = str(path)
        data = read_mapping(path)
        try:
            parsed = GroupFile.model_validate(data)
        except ValidationError as exc:
            raise _located(file, data, exc) from exc
        if parsed.group.id in seen_groups:
            raise CatalogError(file, parsed.group.id, "id",
                               f"group also defined in {seen_groups[parsed.group.id]}")
        seen_groups[parsed.group.id] = file
        tiles = []
        for tile in parsed.tiles:
            _check(tile, file, plans, measurement, methods)
            if tile.id in out.tiles:
                raise CatalogError(file, tile.id, "id", "two tiles share this id")
            filled = tile.model_copy(update={"group": parsed.group.id})
            out.tiles[tile.id] = filled
            tiles.append(filled)
        out.groups.append(GroupFile(group=parsed.group, tiles=tiles))
    out.groups.sort(key=lambda g: (g.group.order, g.group.id))
    return out
