"""What a unit and a group are."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class UnitKind(StrEnum):
    """Kinds of unit. Scoring methods apply per kind (departments, communes)."""

    city = "city"  # Ủy ban nhân dân thành phố Hà Nội
    department = "department"  # a Sở of the city
    agency = "agency"  # another city-level body (Văn phòng UBND, Trung tâm PVHCC, Công an TP…)
    commune = "commune"  # one of the 126 xã, phường
    leadership = "leadership"  # city leaders, councils, party bodies
    central = "central"  # national bodies (Bộ, Chính phủ…)
    organisation = "organisation"  # non-state organisations
    defunct = "defunct"  # bodies named only by older plans, merged or abolished since


class Unit(BaseModel):
    """A body that plans assign work to, or a commune."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="Stable short code ('SKHCN'), or the 5-digit commune code")
    name: str = Field(description="Canonical Vietnamese name")
    name_en: str
    kind: UnitKind
    aliases: list[str] = Field(default_factory=list, description="Variants seen in the documents")
    parent: str | None = Field(default=None, description="Code of the body it belongs to")
    successor: str | None = Field(default=None, description="For defunct bodies: who took over")
    commune_type: str | None = Field(default=None, description="'phường' or 'xã' for communes")
    order: int | None = Field(default=None, description="Order in the official list")
    scored: bool = Field(
        default=False, description="Scored and ranked (departments, agencies and communes)"
    )


class Group(BaseModel):
    """A collective term that tasks are assigned to ("Các Sở, ban, ngành", "UBND cấp xã").

    A group expands to its members: the units of the kinds it names plus those it lists.
    A group with no members ("Đơn vị liên quan") means "whoever is concerned" and expands to
    nothing; it is still a valid assignee so that no agency name goes unresolved.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    name_en: str
    aliases: list[str] = Field(default_factory=list)
    member_kinds: list[UnitKind] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list, description="Unit codes listed by name")
    scored_only: bool = Field(
        default=True, description="With member_kinds: only units that are scored"
    )
