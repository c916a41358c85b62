"""Indicators as data, and their binding to a plan's targets (computing is chiso.measurement).

Files (see docs/indicators.md)::

    data/indicators/<feed-prefix>.yaml   indicators over one feed (key ``indicators:``)
    data/indicators/bindings-*.yaml      one plan's targets -> indicators (keys ``plan:``,
                                         ``bindings:``)

An indicator says *what* to compute, precisely enough to compile to set-based SQL over the
feed's latest-version table ``feed_<feed>`` (one row per record, typed columns):

* ``time_field`` places a record in a day (Vietnam time, +07:00) and so in every period;
* ``where`` filters the population (a small condition language, never ``eval``);
* ``kind`` and its measures (``value``, or ``numerator``/``denominator``) say what to add up.
  A ratio is always ``sum(numerator) / sum(denominator) * scale`` over whatever days and units
  are asked for: never a mean of ratios.

Every check names the file, the item and the field (:class:`CatalogError`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from chiso.catalog.errors import CatalogError
from chiso.catalog.feeds import Contract
from chiso.catalog.files import load_model
from chiso.catalog.models import Direction, Target

if TYPE_CHECKING:  # the loader imports this module; the name is needed for types only
    from chiso.catalog.loader import PlanEntry

M = TypeVar("M", bound=BaseModel)

CODE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z0-9_]+(\.[a-z0-9_]+)*$"
STATS_FEED = "stats.value"
# Feeds of published figures placed by their ``period`` (not by an instant): latest measures
# read them. stats.grdp: the statistics office's GRDP releases (its quarter and 6/9/12-month
# cumulative periods).
PERIOD_FEEDS = (STATS_FEED, "stats.grdp")


class Strict(BaseModel):
    """Definition files are hand-edited: unknown keys are typos, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the condition language -------------------------------------------------------------------

Scalar = str | int | float | bool


class Compare(Strict):
    """``field op value``. ``in``/``not_in`` take a list; ``is_null``/``not_null`` no value.

    SQL: ``==`` on a bool is ``col IS TRUE``; ``!=`` and ``not_in`` do *not* match NULL (SQL
    three-valued logic): write ``any: [{field: f, op: is_null}, …]`` when NULL should match.
    """

    field: str
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null"]
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Compare:
        if self.op in ("is_null", "not_null"):
            if self.value is not None:
                raise ValueError(f"op {self.op} takes no value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op {self.op} needs a non-empty list as value")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"op {self.op} needs one value (use is_null for NULL)")
        return self


class CompareFields(Strict):
    """``field op other [+ offset_days_from days]``: two fields of one record.

    ``offset_days_from`` names a numeric field whose value (days, may be fractional) is added
    to ``other`` before comparing, e.g. ``resolved_at <= due_at + supplement_days days``. The
    days are calendar days unless the indicator says ``working_days: true`` (then Vietnamese
    working days: weekends and public holidays skipped, from the calendar data, not code).
    ``offset_days`` is a fixed number of days instead (``closed_at <= received_at + 15``).
    A NULL on either side makes the condition false.
    """

    field: str
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    other: str
    offset_days_from: str | None = None
    offset_days: float | None = Field(default=None, ge=0, le=3650)

    @model_validator(mode="after")
    def _one_offset(self) -> CompareFields:
        if self.offset_days_from is not None and self.offset_days is not None:
            raise ValueError("give offset_days_from or offset_days, not both")
        return self


class AllOf(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=1)


class Not(Strict):
    not_: Condition = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {AllOf: "all", AnyOf: "any", Not: "not", CompareFields: "fields"}.get(
            type(value), "compare"
        )
    if not isinstance(value, dict):
        return None
    for key in ("all", "any", "not"):
        if key in value:
            return key
    return "fields" if "other" in value else "compare"


Condition = Annotated[
    Annotated[Compare, Tag("compare")]
    | Annotated[CompareFields, Tag("fields")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(_condition_tag),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


def walk(cond: Condition) -> Iterator[Compare | CompareFields]:
    """The leaves of a condition."""
    if isinstance(cond, AllOf):
        for c in cond.all:
            yield from walk(c)
    elif isinstance(cond, AnyOf):
        for c in cond.any:
            yield from walk(c)
    elif isinstance(cond, Not):
        yield from walk(cond.not_)
    else:
        yield cond


# --- indicators -------------------------------------------------------------------------------


class Kind(StrEnum):
    count = "count"  # type: ignore[assignment]  # number of records (shadows str.count)
    sum = "sum"  # sum of a numeric field
    ratio = "ratio"  # sum(numerator) / sum(denominator) * scale
    latest = "latest"  # per unit, the latest value in the period (stocks, published figures)
    change = "change"  # a count or sum against the same measure in a baseline period
    distinct_count = "distinct_count"  # number of distinct values of a field (not additive)
    lowest = "lowest"  # the smallest of other indicators' values (``of``), per unit and period


class Measure(Strict):
    """What one side of an indicator adds up, over the records that pass its ``where``
    (and the indicator's own ``where``).

    ``agg``: ``count`` (records), ``sum`` (of ``field``), ``latest`` (per unit, ``field`` of
    the record whose time_field is latest inside the asked period; summed over units when
    rolled up), ``distinct`` (distinct values of ``field``). On ``stats.value``,
    ``stats_indicator`` is the published indicator code the measure reads (it compiles to
    ``indicator = '<code>'``).
    """

    agg: Literal["count", "sum", "latest", "distinct"]
    field: str | None = None
    where: Condition | None = None
    stats_indicator: str | None = Field(default=None, pattern=r"^[a-z0-9_.]+$")

    @model_validator(mode="after")
    def _field_fits_agg(self) -> Measure:
        if self.agg == "count" and self.field is not None:
            raise ValueError("a count takes no field")
        if self.agg != "count" and self.field is None:
            raise ValueError(f"agg {self.agg} needs a field")
        return self


class Baseline(Strict):
    """The period a ``change`` indicator compares against.

    ``same_period_previous_year``: the asked period shifted back one year (2026-Q3 -> 2025-Q3);
    ``fixed``: always ``period`` (e.g. ``"2025"``).
    """

    mode: Literal["same_period_previous_year", "fixed"]
    period: str | None = None

    @model_validator(mode="after")
    def _fixed_has_period(self) -> Baseline:
        if (self.mode == "fixed") != (self.period is not None):
            raise ValueError("period is given exactly when mode is fixed")
        return self


class ComesDue(Strict):
    """A future-facing ``time_field`` (a deadline, a scheduled start): a record counts only
    once it has come due as of the value's as-of time, or once it is ``settled``.

    A record comes due when its (adjusted) due day has ended, Vietnam time: the time field
    moved by ``offset_days_from`` days (calendar days, or working days when the indicator
    says ``working_days: true``). A record passing ``settled`` (e.g. resolved or rejected)
    counts whatever its due time, so a dossier resolved early counts at once. A record
    passing ``paused`` has its clock stopped (waiting for the citizen): it comes due only if
    its adjusted due time had already passed at ``paused_since`` (when it was paused, i.e.
    when the wait began); otherwise it is not judged until it resumes or settles.
    """

    settled: Condition | None = None
    offset_days_from: str | None = None
    offset_days: float | None = Field(default=None, ge=0, le=3650, description="fixed days")
    paused: Condition | None = None
    paused_since: str | None = None

    @model_validator(mode="after")
    def _paused_has_since(self) -> ComesDue:
        if (self.paused is None) != (self.paused_since is None):
            raise ValueError("paused and paused_since are given together")
        if self.offset_days_from is not None and self.offset_days is not None:
            raise ValueError("give offset_days_from or offset_days, not both")
        return self


class Indicator(Strict):
    """One indicator: what to compute from one feed, per unit and day, and how to roll it up."""

    code: str = Field(pattern=CODE_PATTERN, description="'<feed prefix>.<name>', e.g. tthc.x")
    name_vi: str = Field(min_length=3, description="Vietnamese, as the administration writes it")
    name_en: str = Field(min_length=3)
    description_en: str | None = None
    feed: str
    kind: Kind
    time_field: Literal[
        "received_at", "due_at", "resolved_at", "closed_at", "sent_at", "starts_at", "period",
        "supported_at", "admitted_at", "recognised_at",
    ]
    where: Condition | None = Field(default=None, description="Population filter, every side")
    comes_due: ComesDue | None = Field(
        default=None, description="The time field is a due time: count only what has come due "
        "as of the value's as-of time, plus what is settled")
    value: Measure | None = Field(default=None, description="count, sum, latest, distinct, change")
    of: list[str] = Field(
        default_factory=list,
        description="kind lowest: the indicators (same feed, same unit of measure) whose "
        "smallest value, per unit and period, is this one's; no value unless all have one")
    fallback: str | None = Field(
        default=None,
        description="An indicator whose value stands in, per unit and period, where this one "
        "has none (e.g. a figure computed from a release, and the same figure published "
        "directly): this one wins whenever it has a value")
    ties: Literal["finer", "longer"] = Field(
        default="finer",
        description="latest measures: of two published periods ending the same day inside "
        "the asked span, the finer (2026-Q3) or the longer (2026-9T, cumulative) is read")
    numerator: Measure | None = None
    denominator: Measure | None = None
    baseline: Baseline | None = None
    change_form: Literal["reduction_pct", "growth_pct"] | None = Field(
        default=None,
        description="reduction_pct: (base - current) / base * scale; growth_pct: the opposite",
    )
    unit_of_measure: str = Field(description="As targets write it: '%', 'thứ hạng', …")
    scale: Decimal = Field(default=Decimal(1), description="100 for a percentage")
    direction: Literal["higher_is_better", "lower_is_better"]
    working_days: bool = Field(
        default=False, description="Day offsets in conditions count Vietnamese working days"
    )
    rollup: Literal["additive", "city_published"] = Field(
        default="additive",
        description="additive: sums over units (ratios as ratio of sums); city_published: a "
        "published figure that cannot be summed (a share, a rank): the city's value is the "
        "record published for the city unit itself",
    )
    source_hint: str | None = Field(
        default=None, description="Which system publishes it (stats.value indicators)"
    )

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> Indicator:
        ratio = self.kind is Kind.ratio
        if ratio != (self.numerator is not None and self.denominator is not None):
            raise ValueError("numerator and denominator are given exactly for kind ratio")
        lowest = self.kind is Kind.lowest
        if lowest != bool(self.of):
            raise ValueError("of is given exactly for kind lowest (at least one indicator)")
        if (ratio or lowest) == (self.value is not None):
            raise ValueError("value is given for every kind but ratio and lowest")
        change = self.baseline is not None and self.change_form is not None
        if (self.kind is Kind.change) != change:
            raise ValueError("baseline and change_form are given exactly for kind change")
        wanted = {
            Kind.count: {"count"}, Kind.sum: {"sum"}, Kind.latest: {"latest"},
            Kind.distinct_count: {"distinct"}, Kind.change: {"count", "sum"},
            Kind.ratio: {"count", "sum", "latest"}, Kind.lowest: set(),
        }[self.kind]
        for name, m in self.measures():
            if m.agg not in wanted:
                raise ValueError(f"{name}.agg {m.agg} does not fit kind {self.kind}")
        if self.unit_of_measure == "%" and self.scale != 100:
            raise ValueError("a percentage has scale 100")
        aggs = {m.agg for _, m in self.measures()}
        if self.rollup == "city_published" and aggs != {"latest"} and not lowest:
            raise ValueError("only latest values can be city_published")
        if ratio and {m.agg for _, m in self.measures()} & {"latest"} and (
            {m.agg for _, m in self.measures()} != {"latest"}
        ):
            raise ValueError("a ratio of latest values has latest on both sides")
        return self

    def measures(self) -> list[tuple[str, Measure]]:
        out = [("value", self.value), ("numerator", self.numerator),
               ("denominator", self.denominator)]
        return [(n, m) for n, m in out if m is not None]

    @property
    def stats_indicators(self) -> list[str]:
        """The published indicator codes a stats.value indicator reads."""
        return sorted({m.stats_indicator for _, m in self.measures() if m.stats_indicator})

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher_is_better"


class IndicatorsFile(Strict):
    indicators: list[Indicator] = Field(min_length=1)


# --- bindings ---------------------------------------------------------------------------------


class Binding(Strict):
    """One target of a plan, bound to its indicator(s), or awaiting data with the reason."""

    target: str = Field(description="Target id within the file's plan, e.g. 'I.11'")
    indicators: list[str] = Field(default_factory=list)
    combine: Literal["all"] = Field(
        default="all", description="The target is met when every bound indicator meets it")
    level: Literal["implementing", "records", "city"] | None = Field(
        default=None,
        description="implementing: per unit, for each of the target's implementing units "
        "(groups expanded), and for the city rolled up; records: per unit, for each unit on "
        "the records (the feed's unit field: every department and commune that handles "
        "them), and for the city rolled up; city: the city's value only",
    )
    periods: list[str] = Field(
        default_factory=list,
        description="Periods the target is judged on (each must meet it), e.g. ['2026-11', "
        "'2026-12']; empty: the year to date of the target's deadline",
    )
    window_start: str | None = Field(
        default=None, description="ISO date the measurement starts from ('tính từ …')")
    cumulative: bool = Field(
        default=False,
        description="The value on a day is the value over window_start..that day, however many "
        "years that spans (a plan's running total to its deadline, e.g. enterprises supported "
        "2026-2030, each counted once); needs window_start",
    )
    awaiting_data: str | None = Field(
        default=None, description="Why no feed can measure it yet (English)")
    note: str | None = Field(default=None, description="Interpretation, coverage limits")
    note_vi: str | None = Field(
        default=None, description="The note in Vietnamese, as officials read it; required "
        "with a note")

    @model_validator(mode="after")
    def _bound_or_awaiting(self) -> Binding:
        if bool(self.indicators) == (self.awaiting_data is not None):
            raise ValueError("give either indicators or awaiting_data (with the reason)")
        if self.indicators and self.level is None:
            raise ValueError("a bound target needs level: implementing or city")
        if self.awaiting_data is not None and (self.level or self.periods):
            raise ValueError("a target awaiting data has no level or periods")
        if (self.note is None) != (self.note_vi is None):
            raise ValueError("a note is given in both languages: note and note_vi")
        if len(set(self.indicators)) != len(self.indicators):
            raise ValueError("an indicator is listed twice")
        if self.cumulative and (self.window_start is None or self.periods):
            raise ValueError("a cumulative target needs window_start and no periods")
        return self


class BindingsFile(Strict):
    plan: str = Field(description="Plan number, e.g. '131/KH-UBND'")
    bindings: list[Binding] = Field(min_length=1)


# --- loading and cross-checks -----------------------------------------------------------------


@dataclass(frozen=True)
class FeedField:
    name: str
    type: str  # string, unit, int, number, bool, datetime, period
    required: bool
    enum: tuple[str, ...] | None


@dataclass
class PlanBindings:
    plan: str
    file: str
    bindings: dict[str, Binding]  # target id -> binding

    @property
    def bound(self) -> list[Binding]:
        return [b for b in self.bindings.values() if b.indicators]

    @property
    def awaiting(self) -> list[Binding]:
        return [b for b in self.bindings.values() if b.awaiting_data is not None]


@dataclass
class Measurement:
    """The indicator definitions and plan bindings of the catalog."""

    indicators: dict[str, Indicator]
    origin: dict[str, str]  # indicator code -> file
    feeds: dict[str, dict[str, FeedField]]
    contracts: dict[str, Contract] = field(default_factory=dict)
    plans: dict[str, PlanBindings] = field(default_factory=dict)

    def stats(self, plan: str) -> dict[str, int]:
        pb = self.plans.get(plan)
        if pb is None:
            return {}
        return {"bound_targets": len(pb.bound), "awaiting_data": len(pb.awaiting)}

    def binding(self, plan: str, target: str) -> Binding:
        return self.plans[plan].bindings[target]


def feed_fields(contracts: Mapping[str, Contract]) -> dict[str, dict[str, FeedField]]:
    """The fields of every feed contract, as the indicator checks need them."""
    return {feed: {name: FeedField(name, spec.type.value, spec.required,
                                   tuple(spec.enum) if spec.enum else None)
                   for name, spec in c.fields.items()}
            for feed, c in contracts.items()}


_NUMERIC = {"int", "number"}


def _check_value(f: FeedField, value: Scalar) -> str | None:
    if f.type == "bool":
        return None if isinstance(value, bool) else f"{f.name} is a bool: compare with true/false"
    if f.type in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{f.name} is a number: compare with a number"
        return None
    if f.type in ("string", "unit", "period"):
        if not isinstance(value, str):
            return f"{f.name} is a {f.type}: compare with a string"
        if f.enum is not None and value not in f.enum:
            return f"{value!r} is not one of {f.name}'s values {list(f.enum)}"
        return None
    return f"{f.name} is a {f.type}: compare it with another field, not a literal"


def check_condition(cond: Condition, fields: Mapping[str, FeedField]) -> list[tuple[str, str]]:
    """(field name, problem) for every leaf of ``cond`` that does not fit the feed's fields."""
    problems: list[tuple[str, str]] = []
    for leaf in walk(cond):
        f = fields.get(leaf.field)
        if f is None:
            problems.append((leaf.field, f"no field {leaf.field!r} in the feed contract"))
            continue
        if isinstance(leaf, Compare):
            if leaf.op in ("is_null", "not_null"):
                if f.required:
                    problems.append((leaf.field, f"{leaf.field} is required, never null"))
                continue
            if leaf.op in ("<", "<=", ">", ">=") and f.type not in _NUMERIC:
                problems.append((leaf.field, f"{leaf.op} with a literal needs a numeric field"))
                continue
            values = leaf.value if isinstance(leaf.value, list) else [leaf.value]
            for v in values:
                if v is not None and (msg := _check_value(f, v)):
                    problems.append((leaf.field, msg))
        else:
            o = fields.get(leaf.other)
            if o is None:
                problems.append((leaf.other, f"no field {leaf.other!r} in the feed contract"))
                continue
            kinds = {f.type, o.type}
            if not (kinds == {"datetime"} or kinds <= _NUMERIC or f.type == o.type):
                problems.append((leaf.field, f"cannot compare {f.type} {f.name} with "
                                             f"{o.type} {o.name}"))
            if leaf.offset_days_from is not None:
                d = fields.get(leaf.offset_days_from)
                if d is None:
                    problems.append((leaf.offset_days_from, "no such field in the feed contract"))
                elif d.type not in _NUMERIC:
                    problems.append((leaf.offset_days_from, "a day offset must be numeric"))
                elif kinds != {"datetime"}:
                    problems.append((leaf.field, "a day offset applies to datetimes only"))
            if leaf.offset_days is not None and kinds != {"datetime"}:
                problems.append((leaf.field, "a day offset applies to datetimes only"))
    return problems


def _check_indicator(ind: Indicator, feeds: Mapping[str, dict[str, FeedField]],
                     file: str) -> None:
    def fail(fld: str, msg: str) -> CatalogError:
        return CatalogError(file, ind.code, fld, msg)

    if ind.feed not in feeds:
        raise fail("feed", f"unknown feed {ind.feed!r}; known: {', '.join(sorted(feeds))}")
    fields = feeds[ind.feed]
    prefix = ind.feed.split(".")[0]
    if not ind.code.startswith(prefix + "."):
        raise fail("code", f"an indicator over {ind.feed} is named {prefix}.<name>")
    if Path(file).stem != prefix:
        raise fail("feed", f"indicators over {ind.feed} belong in {prefix}.yaml")
    tf = fields.get(ind.time_field)
    placed = ind.feed in PERIOD_FEEDS
    if placed and ind.time_field != "period":
        raise fail("time_field", f"figures of {ind.feed} are placed by their period")
    want = ("period", "string") if placed else ("datetime",)
    if tf is None or tf.type not in want:
        raise fail("time_field", f"{ind.time_field!r} is not a {want[0]} field of {ind.feed}")
    if ind.kind is not Kind.lowest and placed != (
            {m.agg for _, m in ind.measures()} == {"latest"}):
        raise fail("kind", f"figures of {ind.feed} are read with latest measures, and only "
                           "they are" if placed else "latest measures read published figures")
    stats = ind.feed == STATS_FEED
    if stats and ind.source_hint is None:
        raise fail("source_hint", "a stats.value indicator says which system publishes it")
    if ind.comes_due is not None:
        _check_comes_due(ind, ind.comes_due, fields, fail)
    if ind.where is not None:
        for name, msg in check_condition(ind.where, fields):
            raise fail(f"where ({name})", msg)
    for side, m in ind.measures():
        if stats != (m.stats_indicator is not None):
            raise fail(f"{side}.stats_indicator",
                       "given exactly on stats.value measures (the published code read)")
        if m.field is not None:
            f = fields.get(m.field)
            if f is None:
                raise fail(f"{side}.field", f"no field {m.field!r} in {ind.feed}")
            if m.agg in ("sum", "latest") and f.type not in _NUMERIC:
                raise fail(f"{side}.field", f"{m.agg} needs a numeric field; {m.field} is "
                                            f"{f.type}")
        if m.where is not None:
            for name, msg in check_condition(m.where, fields):
                raise fail(f"{side}.where ({name})", msg)
    if stats and ind.kind is Kind.latest and ind.value is not None and (
        ind.value.field == "value" and ind.unit_of_measure in ("%", "thứ hạng")
        and ind.rollup != "city_published"
    ):
        raise fail("rollup", "a published share or rank cannot be summed over units: "
                             "rollup: city_published")


def _check_comes_due(ind: Indicator, cd: ComesDue, fields: Mapping[str, FeedField],
                     fail: Any) -> None:
    if ind.feed in PERIOD_FEEDS or ind.kind is Kind.distinct_count:
        raise fail("comes_due", "only additive indicators over an event feed come due")
    for name, cond in (("settled", cd.settled), ("paused", cd.paused)):
        if cond is not None:
            for fld, msg in check_condition(cond, fields):
                raise fail(f"comes_due.{name} ({fld})", msg)
    if cd.offset_days_from is not None:
        d = fields.get(cd.offset_days_from)
        if d is None or d.type not in _NUMERIC:
            raise fail("comes_due.offset_days_from",
                       f"{cd.offset_days_from!r} is not a numeric field of the feed")
    if cd.paused_since is not None:
        f = fields.get(cd.paused_since)
        if f is None or f.type != "datetime":
            raise fail("comes_due.paused_since",
                       f"{cd.paused_since!r} is not a datetime field of the feed")


def load_indicators(directory: Path, feeds: Mapping[str, dict[str, FeedField]]
                    ) -> tuple[dict[str, Indicator], dict[str, str]]:
    indicators: dict[str, Indicator] = {}
    origin: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("bindings-"):
            continue
        for ind in load_model(path, IndicatorsFile).indicators:
            if ind.code in indicators:
                raise CatalogError(str(path), ind.code, "code",
                                   f"duplicate indicator, first defined in {origin[ind.code]}")
            _check_indicator(ind, feeds, str(path))
            indicators[ind.code] = ind
            origin[ind.code] = str(path)
    for ind in indicators.values():
        _check_references(ind, indicators, origin[ind.code])
    return indicators, origin


def _check_references(ind: Indicator, indicators: Mapping[str, Indicator], file: str) -> None:
    """``of`` and ``fallback`` name indicators that measure the same thing the same way."""
    def fail(fld: str, msg: str) -> CatalogError:
        return CatalogError(file, ind.code, fld, msg)

    refs = [("of", c) for c in ind.of] + ([("fallback", ind.fallback)] if ind.fallback else [])
    for fld, code in refs:
        other = indicators.get(code)
        if other is None:
            raise fail(fld, f"unknown indicator {code!r}")
        if other.unit_of_measure != ind.unit_of_measure or other.direction != ind.direction:
            raise fail(fld, f"{code} is not measured in {ind.unit_of_measure!r} "
                            f"{ind.direction} like {ind.code}")
        if other.kind is Kind.lowest or other.fallback is not None or code == ind.code:
            raise fail(fld, f"{code} is derived itself: name the indicators it reads")
        if fld == "of" and other.feed != ind.feed:
            raise fail(fld, f"{code} is over {other.feed}, not {ind.feed}")


def _target_units_ok(target: Target) -> bool:
    return bool(target.implementing)


def load_bindings(path: Path, plans: Mapping[str, PlanEntry],
                  indicators: Mapping[str, Indicator]) -> PlanBindings:
    content = load_model(path, BindingsFile)
    file = str(path)
    if content.plan not in plans:
        raise CatalogError(file, content.plan, "plan", "no plan with this number in the catalog")
    targets = {t.id: t for t in plans[content.plan].targets}
    out: dict[str, Binding] = {}
    for b in content.bindings:
        item = f"target {b.target}"
        if b.target in out:
            raise CatalogError(file, item, "target", "target bound twice")
        target = targets.get(b.target)
        if target is None:
            raise CatalogError(file, item, "target", f"no target {b.target} in {content.plan}")
        for code in b.indicators:
            ind = indicators.get(code)
            if ind is None:
                raise CatalogError(file, item, "indicators", f"unknown indicator {code!r}")
            if target.direction is not Direction.eq and (
                ind.higher_is_better != target.direction.higher_is_better
            ):
                raise CatalogError(file, item, "indicators",
                                   f"{code} is {ind.direction} but the target's direction is "
                                   f"{target.direction.value}")
            if ind.unit_of_measure != target.unit_of_measure:
                raise CatalogError(file, item, "indicators",
                                   f"{code} is measured in {ind.unit_of_measure!r}, the target "
                                   f"in {target.unit_of_measure!r}")
        if b.level == "records" and any(indicators[c].feed in PERIOD_FEEDS
                                        for c in b.indicators):
            raise CatalogError(file, item, "level", "level records needs indicators over "
                               "source records, not published figures: use implementing")
        if b.level == "implementing" and not _target_units_ok(target):
            raise CatalogError(file, item, "level",
                               "the target names no implementing unit: use level: city")
        out[b.target] = b
    missing = [t for t in targets if t not in out]
    if missing:
        raise CatalogError(file, f"target {missing[0]}", "target",
                           f"{len(missing)} target(s) of {content.plan} neither bound nor "
                           f"awaiting_data: {', '.join(missing)}")
    return PlanBindings(content.plan, file, out)


def load_measurement(data_dir: Path, plans: Mapping[str, PlanEntry],
                     contracts: Mapping[str, Contract]) -> Measurement | None:
    """Indicators and bindings under ``data_dir/indicators``, checked against the feed
    contracts and the plans; None when the folder does not exist."""
    directory = data_dir / "indicators"
    if not directory.is_dir():
        return None
    feeds = feed_fields(contracts)
    indicators, origin = load_indicators(directory, feeds)
    result = Measurement(indicators, origin, feeds, dict(contracts))
    for path in sorted(directory.glob("bindings-*.yaml")):
        pb = load_bindings(path, plans, indicators)
        if pb.plan in result.plans:
            raise CatalogError(str(path), pb.plan, "plan",
                               f"plan already bound in {result.plans[pb.plan].file}")
        result.plans[pb.plan] = pb
    return result

