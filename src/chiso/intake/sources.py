"""Source systems and their tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, update

from chiso.access import audit
from chiso.store.tables import intake_sources


@dataclass(frozen=True)
class Source:
    name: str
    feeds: frozenset[str]
    units: frozenset[str] | None  # None: any unit


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit(conn: Connection, actor: str, action: str, name: str,
           detail: dict[str, object] | None = None) -> None:
    """Issuing and revoking tokens are audited in the same transaction (never the token)."""
    audit.append(conn, actor=actor, roles="operator", action=action, result="ok",
                 target=f"source:{name}", detail=detail)


def add_source(
    engine: Engine, name: str, feeds: list[str], units: list[str] | None, *,
    actor: str = "system",
) -> str:
    """Register a source (or replace its token and scope); returns the new token. Audited
    as ``actor`` (``cli:<user>`` from the command line)."""
    token = "chiso_" + secrets.token_urlsafe(32)
    row = {"name": name, "token_hash": token_hash(token), "feeds": sorted(set(feeds)),
           "units": sorted(set(units)) if units else None,
           "created_at": datetime.now(UTC), "revoked_at": None}
    with engine.begin() as conn:
        exists = conn.execute(
            select(intake_sources.c.name).where(intake_sources.c.name == name)).first()
        if exists:
            conn.execute(update(intake_sources).where(intake_sources.c.name == name).values(row))
        else:
            conn.execute(intake_sources.insert().values(row))
        _audit(conn, actor, "source token reissued" if exists else "source token issued", name,
               {"feeds": row["feeds"], "units": row["units"]})
    return token


def revoke_source(engine: Engine, name: str, *, actor: str = "system") -> bool:
    """Revoke a source's token; audited as ``actor`` when there was one to revoke."""
    with engine.begin() as conn:
        done = conn.execute(update(intake_sources).where(intake_sources.c.name == name,
                                                         intake_sources.c.revoked_at.is_(None))
                            .values(revoked_at=datetime.now(UTC)))
        if done.rowcount:
            _audit(conn, actor, "source token revoked", name)
    return bool(done.rowcount)


def source_for_token(engine: Engine, token: str) -> Source | None:
    with engine.connect() as conn:
        row = conn.execute(select(intake_sources).where(
            intake_sources.c.token_hash == token_hash(token),
            intake_sources.c.revoked_at.is_(None))).first()
    if row is None:
        return None
    return Source(row.name, frozenset(row.feeds),
                  frozenset(row.units) if row.units is not None else None)


def list_sources(engine: Engine) -> list[Source]:
    with engine.connect() as conn:
        rows = conn.execute(select(intake_sources).where(intake_sources.c.revoked_at.is_(None))
                            .order_by(intake_sources.c.name)).all()
    return [Source(r.name, frozenset(r.feeds), frozenset(r.units) if r.units else None)
            for r in rows]
