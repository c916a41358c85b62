"""Who is asking (``/api/v1/me``) and the audit log's search and verification for auditors.
Who may call each route is decided by the guard from the policy table, never here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chiso.access import audit
from chiso.access.guard import principal
from chiso.web.deps import Conn, Rt, access_settings

router = APIRouter(tags=["access"])


class Grant(BaseModel):
    role: str
    unit: str | None


class Me(BaseModel):
    name: str | None
    kind: str = Field(description="user, source or anonymous")
    via: str = Field(description="session, token, source or anonymous")
    roles: list[str]
    grants: list[Grant]


class AuditEntry(BaseModel):
    """One entry of the hash-chained audit log."""

    model_config = ConfigDict(extra="allow")

    seq: int
    at: str
    actor: str
    roles: str
    action: str
    target: str | None
    unit: str | None
    subjects: str | None
    result: str | None
    hash: str


class AuditReport(BaseModel):
    """Whether the chain and the signed checkpoints hold, and the first entry that breaks."""

    ok: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None
    problem: str | None = None


@router.get("/api/v1/me", response_model=Me)
def me(request: Request) -> dict[str, Any]:
    who = principal(request)
    return {"name": who.name, "kind": who.kind, "via": who.via,
            "roles": sorted(who.roles),
            "grants": [{"role": g.role, "unit": g.unit} for g in who.grants]}


@router.get("/api/v1/audit", response_model=list[AuditEntry])
def audit_search(conn: Conn, person: str | None = None, unit: str | None = None,
                 record: str | None = None, subject: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                 before: int | None = None) -> list[dict[str, Any]]:
    """Search the audit log by person (user name), unit, record (path or id) or subject."""
    return audit.search(conn, person=person, unit=unit, record_ref=record, subject=subject,
                        limit=limit, before=before)


@router.get("/api/v1/audit/verify", response_model=AuditReport)
def audit_verify(request: Request, rt: Rt) -> dict[str, Any]:
    settings = access_settings(request)
    pub = audit.public_path(settings.audit_key_file)
    key = audit.load_public_key(pub) if pub.exists() else None
    return audit.verify(rt.engine, settings.audit_checkpoint_file, key).as_dict()
