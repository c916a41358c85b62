"""Source systems and their tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from chiso.store.tables import intake_sources


@dataclass(frozen=True)
class Source:
    name: str
    feeds: frozenset[str]
    units: frozenset[str] | None  # None: any unit


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_source(
    engine: Engine, name: str, feeds: list[str], units: list[str] | None
) -> str:
    """Register a source (or replace its token and scope); returns the new token."""
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
    return token


def revoke_source(engine: Engine, name: str) -> bool:
    with engine.begin() as conn:
        done = conn.execute(update(intake_sources).where(intake_sources.c.name == name)
                            .values(revoked_at=datetime.now(UTC)))
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
