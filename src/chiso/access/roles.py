"""The roles, what each is for, and who acts: :class:`Principal`."""

from __future__ import annotations

from dataclasses import dataclass, field

OPERATOR = "operator"
LEADER = "leader"
UNIT_OFFICER = "unit_officer"
DATA_STEWARD = "data_steward"
AUDITOR = "auditor"
VIEWER = "viewer"
PUBLIC = "public"
SOURCE = "source"  # not a person's role: a source system's token (intake push API)

ROLES: dict[str, str] = {
    OPERATOR: "Sở Khoa học và Công nghệ: runs chiso, manages users and sources",
    LEADER: "city and unit leaders: every dashboard and data-quality view, city-wide",
    UNIT_OFFICER: "an officer of one unit: that unit's records, data quality and uploads only",
    DATA_STEWARD: "keeps a feed's data good: batches, uploads, records (city-wide or one unit)",
    AUDITOR: "reads the audit log and verifies it; reads nothing else that is not public",
    VIEWER: "reads dashboards and data quality, city-wide; no personal data, no writes",
    PUBLIC: "anyone, signed in or not: published pages and open data",
}
PERSON_ROLES = frozenset(ROLES)
SIGNED_IN_ROLES = PERSON_ROLES - {PUBLIC}
GRANTABLE = SIGNED_IN_ROLES
UNIT_REQUIRED = frozenset({UNIT_OFFICER})  # a grant of these roles must name a unit


@dataclass(frozen=True)
class Grant:
    role: str
    unit: str | None  # None: city-wide


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (by session or API token), a source system, or anonymous."""

    kind: str  # user | source | anonymous
    name: str
    grants: tuple[Grant, ...] = ()
    via: str = "anonymous"  # session | token | source | anonymous
    feeds: frozenset[str] = frozenset()  # source systems: the feeds its token covers
    source_units: frozenset[str] | None = None  # source systems: None = any unit
    csrf: str | None = None  # sessions: the token forms must carry
    user_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def actor(self) -> str:
        return "anonymous" if self.kind == "anonymous" else f"{self.kind}:{self.name}"

    @property
    def roles(self) -> frozenset[str]:
        if self.kind == "source":
            return frozenset({SOURCE})
        return frozenset({PUBLIC, *(g.role for g in self.grants)})

    def allowed(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)

    def scope(self, roles: frozenset[str]) -> frozenset[str] | None:
        """The units this principal may reach through a route open to ``roles``:
        None when city-wide (some city-wide grant, or the route is public)."""
        if self.kind == "source":
            return self.source_units
        if PUBLIC in roles:
            return None
        units: set[str] = set()
        for g in self.grants:
            if g.role in roles:
                if g.unit is None:
                    return None
                units.add(g.unit)
        return frozenset(units)


ANONYMOUS = Principal("anonymous", "anonymous")
