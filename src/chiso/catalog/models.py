"""The catalog's schema: what a plan, a target, a task and a note are.

Every text field marked *verbatim* holds Vietnamese exactly as the seed document writes it
(markup such as ``**bold**`` dropped), and the item cites the seed line(s) it comes from, so
that ``chiso catalog check --seeds DIR`` can prove the catalog faithful to its sources.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chiso.catalog.deadlines import Deadline, parse_deadline

_LINES = re.compile(r"^\d+(-\d+)?(,\s*\d+(-\d+)?)*$")


def parse_lines(spec: str) -> list[int]:
    """Expand a line reference such as ``"976,978-980"`` into ``[976, 978, 979, 980]``."""
    out: list[int] = []
    for part in spec.split(","):
        start, _, end = part.strip().partition("-")
        first = int(start)
        last = int(end) if end else first
        if last < first:
            raise ValueError(f"line range {part.strip()!r} runs backwards")
        out.extend(range(first, last + 1))
    return out


def _check_lines(value: str | int) -> str:
    text = str(value).strip()
    if not _LINES.match(text):
        raise ValueError(f"{text!r} is not a line reference; write it as 894, 894-896 or 976,978")
    parse_lines(text)
    return text


LineRef = Annotated[str, Field(description="Seed line(s): 894, 894-896 or 976,978-980")]


class Strict(BaseModel):
    """Catalog files are hand-edited: unknown keys are typos, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoteKind(StrEnum):
    """The kinds of source defect the catalog records instead of silently fixing."""

    missing_name = "missing_name"  # a row with no task name
    foreign_text = "foreign_text"  # a row carrying another row's text
    range = "range"  # a threshold written as a range, e.g. "7–8%"
    unstated_denominator = "unstated_denominator"
    duplicated_passage = "duplicated_passage"
    blank_number = "blank_number"  # a plan number or date left blank
    truncated = "truncated"  # a cell cut off mid-sentence
    inconsistent = "inconsistent"  # two statements of the same thing disagree
    no_assignee = "no_assignee"  # no agency is named
    missing_appendix = "missing_appendix"  # an appendix referred to but not present
    typo = "typo"  # an obvious misspelling kept as written
    other = "other"


class Note(Strict):
    """A defect or peculiarity of the source, recorded on the item it concerns."""

    kind: NoteKind
    text: str = Field(description="What is wrong or odd, for the operator (English)")
    text_vi: str = Field(min_length=1, description="The same in Vietnamese, for the operator "
                         "and the agencies (shown to readers in Vietnamese)")
    lines: LineRef | None = None

    _v_lines = field_validator("lines", mode="before")(
        lambda v: None if v is None else _check_lines(v)
    )


class Sourced(Strict):
    """An item that cites the seed line(s) it was read from."""

    lines: LineRef
    seed: str | None = Field(
        default=None, description="Seed file, when not the plan's own (e.g. seed 000 for 232)"
    )
    notes: list[Note] = Field(default_factory=list)

    _v_lines = field_validator("lines", mode="before")(_check_lines)


class Direction(StrEnum):
    """How a measured value is compared with a target's threshold."""

    ge = ">="
    gt = ">"
    le = "<="
    lt = "<"
    eq = "="
    rank_at_most = "rank<="  # a ranking: position number at most the threshold (1 is best)

    def met(self, value: Decimal | float, threshold: Decimal | float) -> bool:
        v, t = Decimal(str(value)), Decimal(str(threshold))
        match self:
            case Direction.ge:
                return v >= t
            case Direction.gt:
                return v > t
            case Direction.le | Direction.rank_at_most:
                return v <= t
            case Direction.lt:
                return v < t
            case Direction.eq:
                return v == t

    @property
    def higher_is_better(self) -> bool:
        return self in (Direction.ge, Direction.gt, Direction.eq)


class ReportingRule(Sourced):
    """A reporting duty the plan imposes: who reports what to whom, how often, by when."""

    cadence: Literal[
        "monthly", "quarterly", "every_3_months", "semiannual", "annual", "twice_yearly", "once"
    ]
    text: str = Field(description="verbatim")
    due: str | None = Field(default=None, description="When in the period, in words (English)")
    due_day: int | None = Field(default=None, ge=1, le=31, description="Day of month, if fixed")
    due_month: int | None = Field(default=None, ge=1, le=12)
    reporters: list[str] = Field(default_factory=list, description="Agency names, verbatim")
    recipients: list[str] = Field(default_factory=list, description="Agency names, verbatim")


class Basis(Sourced):
    """A legal basis ("Căn cứ") of the plan."""

    text: str = Field(description="verbatim")


class Group(Sourced):
    """A pillar, group or section that targets and tasks belong to."""

    code: str = Field(description="Stable code within the plan, e.g. 'I', 'IV.7', 'body.2.1'")
    title: str = Field(description="verbatim")
    parent: str | None = None
    kind: Literal["pillar", "group", "section"] = "group"


class Plan(Sourced):
    """One plan (kế hoạch) or other instrument, as issued."""

    number: str = Field(description="e.g. '131/KH-UBND'; the catalog key of the plan")
    kind: Literal["plan", "decision", "press_release", "scheme"] = "plan"
    title: str = Field(description="verbatim")
    title_en: str
    issued: date | None = None
    issued_text: str | None = Field(default=None, description="verbatim date as printed")
    issuing_body: str
    signer: str | None = None
    signer_title: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    bases: list[Basis] = Field(default_factory=list)
    reporting: list[ReportingRule] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list, description="'Nơi nhận', verbatim")
    recipients_lines: LineRef | None = None
    groups: list[Group] = Field(default_factory=list)
    related: list[str] = Field(
        default_factory=list, description="Numbers of other instruments this one announces"
    )

    @model_validator(mode="after")
    def _has_seed(self) -> Plan:
        if not self.seed:
            raise ValueError("a plan must name its seed file (field 'seed')")
        return self


class Target(Sourced):
    """One atomic threshold: a row holding several thresholds becomes several targets."""

    id: str = Field(description="Row number and letter within the plan, e.g. 'I.11', 'III.6a'")
    row: int | None = Field(default=None, description="Row number (TT) in the targets appendix")
    group: str
    text: str = Field(description="verbatim: the whole row or sentence the threshold stands in")
    threshold_text: str = Field(description="verbatim: the words that state this threshold")
    measure_en: str = Field(description="What is measured, in English")
    direction: Direction
    threshold: Decimal
    threshold_high: Decimal | None = Field(
        default=None, description="Upper end when the source gives a range ('7–8%')"
    )
    unit_of_measure: str = Field(description="'%', 'thứ hạng', 'bộ dữ liệu', 'doanh nghiệp', …")
    deadline: date
    as_of_text: str | None = Field(default=None, description="verbatim as-of wording, if any")
    recurrence: Literal["once", "annual"] = "once"
    tracking: list[str] = Field(default_factory=list, description="verbatim agency names")
    implementing: list[str] = Field(default_factory=list, description="verbatim agency names")
    coordinating: list[str] = Field(default_factory=list, description="verbatim agency names")
    basis: str | None = Field(default=None, description="verbatim 'Căn cứ'")
    body_lines: LineRef | None = Field(
        default=None, description="Where the plan's body states the same target"
    )

    _v_body = field_validator("body_lines", mode="before")(
        lambda v: None if v is None else _check_lines(v)
    )

    @model_validator(mode="after")
    def _range_is_ordered(self) -> Target:
        if self.threshold_high is not None and self.threshold_high < self.threshold:
            raise ValueError("threshold_high is below threshold")
        return self


class Milestone(Sourced):
    """A dated step inside a task ("thí điểm từ tháng 5/2026; báo cáo 12/2026")."""

    text: str = Field(description="verbatim")
    due_text: str = Field(description="verbatim deadline words")

    @property
    def due(self) -> Deadline:
        return parse_deadline(self.due_text)


class Task(Sourced):
    """A task (nhiệm vụ): from a plan's body or from a row of its task appendix."""

    id: str = Field(description="Body: its number ('2.1.1'); appendix: 'PL02.7' (row TT 7)")
    section: Literal["body", "appendix"]
    row: int | None = Field(default=None, description="Row number (TT) in the task appendix")
    group: str
    title: str | None = Field(description="verbatim; null only when the source row has none")
    title_en: str | None = None
    details: str | None = Field(default=None, description="verbatim requirements, if any")
    lead: list[str] = Field(default_factory=list, description="verbatim agency names")
    coordinating: list[str] = Field(default_factory=list, description="verbatim agency names")
    deadline_text: str | None = Field(default=None, description="verbatim")
    deadline_override: date | None = Field(
        default=None,
        description="Only when the words cannot be parsed mechanically; say why in a note",
    )
    expected_result: str | None = Field(default=None, description="verbatim, quantitative")
    output: str | None = Field(default=None, description="verbatim output product")
    milestones: list[Milestone] = Field(default_factory=list)

    @model_validator(mode="after")
    def _nameless_rows_are_noted(self) -> Task:
        if self.title is None and not any(n.kind is NoteKind.missing_name for n in self.notes):
            raise ValueError("title is empty: record the source defect with a missing_name note")
        return self

    @property
    def deadline(self) -> Deadline:
        if self.deadline_override is not None:
            return Deadline(kind="date", date=self.deadline_override, text=self.deadline_text)
        return parse_deadline(self.deadline_text)


class PlanFile(Strict):
    """``plan.yaml``: the plan itself."""

    plan: Plan


class TargetsFile(Strict):
    """``targets*.yaml``: targets of the plan in the same folder, and the groups they use."""

    groups: list[Group] = Field(default_factory=list)
    targets: list[Target]


class TasksFile(Strict):
    """``tasks*.yaml``: tasks of the plan in the same folder, and the groups they use."""

    groups: list[Group] = Field(default_factory=list)
    tasks: list[Task]
