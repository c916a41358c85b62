"""Feed data contracts: one YAML file per feed under ``<data dir>/feeds``, read once with the
rest of the catalog (``Catalog.feeds``, ``Catalog.contract(feed)``) and validated at load.

A contract states a feed's record schema (types, required fields, ranges, enumerations),
cross-field rules, which fields are personal identifiers (pseudonymised at intake), the
Vietnamese column headers agencies use in files, the reporting frequency each unit owes,
and the outlier check. Adding a feed is adding a file (see docs/feeds.md) plus its typed
tables in ``chiso.store.tables``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chiso.catalog.errors import CatalogError
from chiso.catalog.files import read_mapping
from chiso.text import fold


class FieldType(StrEnum):
    string = "string"
    unit = "unit"  # a unit code of the registry
    int = "int"
    number = "number"
    bool = "bool"
    datetime = "datetime"  # ISO 8601 with offset; files may write dd/mm/yyyy [hh:mm]
    period = "period"  # 2026, 2026-Q3, 2026-H1, 2026-10


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: FieldType
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int | None = Field(default=None, gt=0)
    enum: list[str] | None = None
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="Words files use for an enum value: value -> labels")
    pattern: str | None = None
    personal: bool = False
    deadline: bool = Field(default=False, description="A time something is due by: in a "
                           "file, a date without a time means the end of that day")
    headers: list[str] = Field(default_factory=list, description="Column headers seen in files")
    description: str | None = None

    @model_validator(mode="after")
    def _coherent(self) -> FieldSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.personal and self.type is not FieldType.string:
            raise ValueError("only string fields can be personal identifiers")
        for value in self.labels:
            if self.enum is None or value not in self.enum:
                raise ValueError(f"label given for {value!r}, which is not in enum")
        if self.deadline and self.type is not FieldType.datetime:
            raise ValueError("only date-time fields can be deadlines")
        if self.personal and self.required:
            raise ValueError("a personal identifier cannot be required (sources may omit it)")
        return self


class Rule(BaseModel):
    """A cross-field rule: ``left op right`` (checked when both are present), or ``when`` a
    field takes one of the listed values, the ``require`` fields must be present."""

    model_config = ConfigDict(extra="forbid")

    left: str | None = None
    op: Literal["<=", "<", ">=", ">", "=="] | None = None
    right: str | None = None
    when: dict[str, list[str]] | None = None
    require: list[str] | None = None
    message: str
    message_vi: str = Field(min_length=1, description="the message in Vietnamese")

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        compare = self.left is not None and self.op is not None and self.right is not None
        conditional = self.when is not None and self.require is not None
        if compare == conditional:
            raise ValueError("a rule is either left/op/right or when/require")
        return self

    def fields(self) -> list[str]:
        if self.left is not None and self.right is not None:
            return [self.left, self.right]
        return [*(self.when or {}), *(self.require or [])]


class Expectation(BaseModel):
    """What a unit owes: at least ``min_records`` records per ``period`` (working days only
    for day periods when ``working_days_only``), each within ``timely_hours`` of its event."""

    model_config = ConfigDict(extra="forbid")

    period: Literal["day", "month", "quarter"]
    working_days_only: bool = False
    min_records: int = Field(default=1, ge=1)
    unit_kinds: list[str]
    timely_hours: float = Field(gt=0)


class OutlierCheck(BaseModel):
    """Robust z-score (median and MAD of the unit's own history); flagged, never dropped."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["records_per_day", "value"]
    z: float = Field(default=3.5, gt=0)
    min_history: int = Field(default=14, ge=3)


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feed: str = Field(pattern=r"^[a-z]+\.[a-z_]+$")
    kind: Literal["records", "published_values"] = Field(
        default="records", description="records: events a system of work keeps (dossiers, "
        "feedback, …), measured by counting them; published_values: figures a statistical "
        "or sector system publishes per unit and period, read as published")
    title: str
    title_en: str
    key: list[str] = Field(min_length=1)
    version: str
    event_time: str
    fields: dict[str, FieldSpec]
    rules: list[Rule] = Field(default_factory=list)
    expect: Expectation
    outliers: OutlierCheck

    @model_validator(mode="after")
    def _references(self) -> Contract:
        names = set(self.fields)
        if "unit" not in names or self.fields["unit"].type is not FieldType.unit:
            raise ValueError("every feed has a 'unit' field of type unit")
        for name in [*self.key, self.version, self.event_time]:
            if name not in names:
                raise ValueError(f"key/version/event_time names unknown field {name!r}")
            if not self.fields[name].required:
                raise ValueError(f"key/version/event_time field {name!r} must be required")
        if self.fields[self.version].type is not FieldType.datetime:
            raise ValueError("the version field must be a datetime")
        for rule in self.rules:
            for name in rule.fields():
                if name not in names:
                    raise ValueError(f"rule {rule.message!r} names unknown field {name!r}")
        seen: dict[str, str] = {}
        for name, spec in self.fields.items():
            for header in [name, *spec.headers]:
                folded = fold(header)
                if seen.get(folded, name) != name:
                    raise ValueError(f"header {header!r} maps to both {seen[folded]} and {name}")
                seen[folded] = name
        return self

    @property
    def table_key(self) -> str:
        """The feed's name in table names: ``tthc.dossier`` -> ``tthc_dossier``."""
        return self.feed.replace(".", "_")

    @property
    def publishes_values(self) -> bool:
        """Its records are published figures (read as they are), not events to count."""
        return self.kind == "published_values"

    @property
    def personal_fields(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.personal]

    def header_map(self) -> dict[str, str]:
        """Folded header (no tone marks, lower case) -> field name."""
        out: dict[str, str] = {}
        for name, spec in self.fields.items():
            out[fold(name)] = name
            for header in spec.headers:
                out[fold(header)] = name
        return out

    def record_id(self, record: dict[str, object]) -> str:
        """The source's record id: the ``id`` field, or the key fields joined by ``|``."""
        return "|".join(str(record[k]) for k in self.key)


def load_contract(path: Path) -> Contract:
    """One contract file; :class:`CatalogError` names the file, the field and the problem."""
    data = read_mapping(path)
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise CatalogError(str(path), str(data.get("feed") or "") or None, field,
                           first["msg"]) from exc
    if path.name != f"{contract.feed}.yaml":
        raise CatalogError(str(path), contract.feed, "feed",
                           f"the file name must be {contract.feed}.yaml")
    return contract


def load_contracts(directory: Path) -> dict[str, Contract]:
    """Every contract file of ``directory``, by feed."""
    return {c.feed: c for c in (load_contract(p) for p in sorted(directory.glob("*.yaml")))}
