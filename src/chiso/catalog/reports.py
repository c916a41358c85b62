"""Report kinds as catalog data (SPEC C8, docs/reports.md).

Files: ``data/reports/<id>.yaml``, one per kind, each a ``report:`` mapping: its cadence and
due day, the plan reporting rule it fulfils, the plans it reports on, its sections in order,
the scoring method that names the units leading and lagging (and, for the ranking report,
the methods and kinds of unit ranked in full), and per scope (the city, a
department, an agency, a commune) who issues it, to whom, under which number suffix, who
signs and who receives copies. Every unit code, plan, rule and
placeholder is checked at catalog load; an error names the file, the kind and the field.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chiso.catalog.errors import CatalogError
from chiso.catalog.files import read_mapping
from chiso.catalog.models import parse_lines

if TYPE_CHECKING:
    from chiso.catalog.loader import PlanEntry
    from chiso.catalog.methods import Methods
    from chiso.units.registry import UnitRegistry

Section = Literal["results", "shortcomings", "next_period", "proposals", "rankings",
                  "sme_programme"]
ScopeKind = Literal["city", "department", "agency", "commune"]
RankedKind = Literal["department", "agency", "commune"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleRef(Strict):
    """The plan's reporting rule the kind fulfils, by the seed lines the rule cites."""

    plan: str
    lines: str


class Signature(Strict):
    """The signature block: the authority line (``KT. GIÁM ĐỐC``) and the signer's title."""

    authority: str = Field(min_length=1)
    title: str = Field(min_length=1)


class Scope(Strict):
    """How one kind of unit issues the report."""

    issuer: str | None = Field(default=None, description="unit code; none: the unit itself")
    addressees: list[str] = Field(min_length=1, description="unit codes after 'Kính gửi'")
    number_suffix: str = Field(min_length=1, description="after 'Số: …/'; {code} allowed")
    signature: Signature
    copies: list[str] = Field(default_factory=list, description="'Nơi nhận' lines, in order")
    archive: str = Field(min_length=1, description="the closing '- Lưu: …' line")


class RankingRef(Strict):
    """The scoring method whose ranking names the units leading and lagging."""

    method: str
    count: int = Field(default=3, ge=1, le=10, description="units named at each end")


class RankingsRef(Strict):
    """What the ``rankings`` section shows: the full ranking of every unit of ``kinds`` by
    each of ``methods`` (none listed: every scoring method of the catalog), each unit's change
    of rank since the previous period and the ``movers`` criteria that moved it most."""

    methods: list[str] = Field(default_factory=list)
    kinds: list[RankedKind] = Field(default=["department", "commune"], min_length=1)
    movers: int = Field(default=2, ge=0, le=5)


class Accountability(Strict):
    """When a unit's feed counts as incomplete or late in the period (shares, 0 to 1)."""

    completeness: float = Field(default=1.0, ge=0, le=1)
    on_time_share: float = Field(default=0.9, ge=0, le=1)
    listed: int = Field(default=20, ge=0, le=1000, description=(
        "how many cases the letter's table shows, the least complete first; the annex's "
        "sheet lists every one"))


Address = Annotated[str, StringConstraints(pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")]


class ReportKind(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title_vi: str
    title_en: str
    cadence: Literal["monthly", "quarterly", "semiannual", "nine_months", "annual"]
    due_day: int = Field(ge=1, le=28, description="due before this day of the next month")
    due_month: int | None = Field(
        default=None, ge=1, le=12,
        description="an annual kind due within its own year: due before due_day of this "
                    "month (plan 232: 15/12), its figures taken up to the day before")
    rule: RuleRef
    plans: list[str] = Field(min_length=1)
    subject_vi: str = Field(description="{period_vi} is replaced by the period's words")
    subject_en: str = Field(description="{period_en} is replaced by the period's words")
    sections: list[Section] = Field(min_length=1)
    ranking: RankingRef
    rankings: RankingsRef | None = Field(default=None,
                                         description="needed by the rankings section")
    accountability: Accountability = Accountability()
    scopes: dict[ScopeKind, Scope] = Field(min_length=1)
    recipients: list[Address] = Field(
        default_factory=list, description="e-mail addresses an issued report is sent to, "
                                          "with its files attached")


def last_period(kind: ReportKind, today: date) -> str:
    """The label of the kind's latest period that ended before ``today``."""
    y, m = today.year, today.month
    match kind.cadence:
        case "monthly":
            last = today.replace(day=1) - timedelta(days=1)
            return f"{last:%Y-%m}"
        case "quarterly":
            q = (m - 1) // 3  # quarters wholly before this one
            return f"{y}-Q{q}" if q else f"{y - 1}-Q4"
        case "semiannual":
            return f"{y}-H1" if m > 6 else f"{y - 1}-H2"
        case "nine_months":
            return f"{y}-9M" if m > 9 else f"{y - 1}-9M"
    if kind.due_month is not None and m >= kind.due_month:
        return str(y)  # due within its own year: this year's report is open from that month
    return str(y - 1)


class ReportFile(Strict):
    report: ReportKind


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _check(kind: ReportKind, file: str, plans: Mapping[str, PlanEntry],
           units: UnitRegistry, methods: Methods | None) -> None:
    if methods is None or kind.ranking.method not in methods.versions:
        raise CatalogError(file, kind.id, "ranking.method",
                           f"no scoring method {kind.ranking.method!r}")
    if kind.rule.plan not in plans:
        raise CatalogError(file, kind.id, "rule.plan", f"no plan {kind.rule.plan!r}")
    wanted = set(parse_lines(kind.rule.lines))
    if not any(wanted <= set(parse_lines(r.lines)) for r in plans[kind.rule.plan].plan.reporting):
        raise CatalogError(file, kind.id, "rule.lines",
                           f"plan {kind.rule.plan} has no reporting rule at lines "
                           f"{kind.rule.lines}")
    for i, plan in enumerate(kind.plans):
        if plan not in plans:
            raise CatalogError(file, kind.id, f"plans[{i}]", f"no plan {plan!r}")
    if len(set(kind.sections)) != len(kind.sections):
        raise CatalogError(file, kind.id, "sections", "a section is listed twice")
    if kind.due_month is not None and kind.cadence != "annual":
        raise CatalogError(file, kind.id, "due_month",
                           "only an annual kind is due within its own year")
    if "rankings" in kind.sections and kind.rankings is None:
        raise CatalogError(file, kind.id, "rankings",
                           "the rankings section needs a rankings mapping (methods, kinds)")
    for i, method in enumerate(kind.rankings.methods if kind.rankings else []):
        if method not in methods.versions:
            raise CatalogError(file, kind.id, f"rankings.methods[{i}]",
                               f"no scoring method {method!r}")
    for name, allowed in (("subject_vi", {"period_vi"}), ("subject_en", {"period_en"})):
        extra = _fields(getattr(kind, name)) - allowed
        if extra:
            raise CatalogError(file, kind.id, name, f"unknown placeholder {sorted(extra)[0]!r}; "
                               f"only {{{sorted(allowed)[0]}}} is filled")
    for scope_kind, scope in kind.scopes.items():
        where = f"scopes.{scope_kind}"
        if scope_kind == "city" and scope.issuer is None:
            raise CatalogError(file, kind.id, f"{where}.issuer",
                               "the city's report needs an issuing unit")
        codes = [("issuer", scope.issuer)] if scope.issuer else []
        codes += [(f"addressees[{i}]", c) for i, c in enumerate(scope.addressees)]
        for field, code in codes:
            if code not in units.units:
                raise CatalogError(file, kind.id, f"{where}.{field}", f"no unit {code!r}")
        extra = _fields(scope.number_suffix) - {"code"}
        if extra:
            raise CatalogError(file, kind.id, f"{where}.number_suffix",
                               f"unknown placeholder {sorted(extra)[0]!r}; only {{code}} is "
                               "filled")


def load_reports(data_dir: Path, plans: Mapping[str, PlanEntry], units: UnitRegistry,
                 methods: Methods | None) -> dict[str, ReportKind]:
    """Every ``data_dir/reports/*.yaml`` by kind id, validated (empty without the folder)."""
    directory = data_dir / "reports"
    out: dict[str, ReportKind] = {}
    origin: dict[str, str] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.yaml")):
        file = str(path)
        data = read_mapping(path)
        try:
            kind = ReportFile.model_validate(data).report
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = [str(p) for p in first["loc"]]
            raw = data.get("report")
            label = raw.get("id") if isinstance(raw, dict) else None
            raise CatalogError(file, str(label or "report"), ".".join(loc[1:]) or None,
                               first["msg"]) from exc
        if kind.id in origin:
            raise CatalogError(file, kind.id, "id", f"kind also defined in {origin[kind.id]}")
        _check(kind, file, plans, units, methods)
        origin[kind.id] = file
        out[kind.id] = kind
    return out
