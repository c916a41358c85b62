"""Local accounts (argon2id), grants, sessions, API tokens, and who a credential belongs to.

Secrets are stored only as hashes: passwords with argon2id (argon2-cffi), session cookies,
API tokens and source tokens with SHA-256 (they are 256-bit random, so a fast hash is enough).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, delete, insert, select, update

from chiso.access import audit
from chiso.access.roles import GRANTABLE, UNIT_REQUIRED, Grant, Principal
from chiso.store.tables import (
    access_grants,
    access_sessions,
    access_tokens,
    access_users,
    intake_sources,
)

hasher = PasswordHasher()
_DUMMY = hasher.hash("chiso: equal work for unknown names")

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_FOR = timedelta(hours=8)
API_TOKEN_PREFIX = "chisou_"
MIN_PASSWORD = 12


class AccessError(ValueError):
    """A refused account operation, with a message for the person who asked."""


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were written in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# -- users and grants ---------------------------------------------------------------------
def user_row(conn: Connection, name: str) -> Any:
    return conn.execute(select(access_users).where(access_users.c.name == name)).first()


def add_user(conn: Connection, name: str, display_name: str | None = None,
             password: str | None = None, oidc_subject: str | None = None) -> int:
    if user_row(conn, name) is not None:
        raise AccessError(f"user {name!r} exists")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccessError(f"a password needs at least {MIN_PASSWORD} characters")
    result = conn.execute(insert(access_users).values(
        name=name, display_name=display_name or name,
        password_hash=hasher.hash(password) if password is not None else None,
        oidc_subject=oidc_subject, failed_signins=0, created_at=_now()))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def set_password(conn: Connection, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"a password needs at least {MIN_PASSWORD} characters")
    done = conn.execute(update(access_users).where(access_users.c.name == name).values(
        password_hash=hasher.hash(password), failed_signins=0, locked_until=None))
    if not done.rowcount:
        raise AccessError(f"no user {name!r}")


def grant(conn: Connection, name: str, role: str, unit: str | None = None,
          known_units: frozenset[str] | None = None) -> None:
    if role not in GRANTABLE:
        raise AccessError(f"unknown role {role!r}: one of {', '.join(sorted(GRANTABLE))}")
    if role in UNIT_REQUIRED and not unit:
        raise AccessError(f"a {role} grant names a unit (--unit)")
    if unit and known_units is not None and unit not in known_units:
        raise AccessError(f"unknown unit {unit!r}")
    row = user_row(conn, name)
    if row is None:
        raise AccessError(f"no user {name!r}")
    if (Grant(role, unit or None)) in grants_of(conn, row.id):
        return
    conn.execute(insert(access_grants).values(user_id=row.id, role=role, unit=unit or None,
                                              granted_at=_now()))


def revoke(conn: Connection, name: str, role: str, unit: str | None = None) -> bool:
    row = user_row(conn, name)
    if row is None:
        raise AccessError(f"no user {name!r}")
    query = delete(access_grants).where(access_grants.c.user_id == row.id,
                                        access_grants.c.role == role)
    query = query.where(access_grants.c.unit.is_(None) if not unit
                        else access_grants.c.unit == unit)
    return bool(conn.execute(query).rowcount)


def grants_of(conn: Connection, user_id: int) -> tuple[Grant, ...]:
    rows = conn.execute(select(access_grants.c.role, access_grants.c.unit)
                        .where(access_grants.c.user_id == user_id)
                        .order_by(access_grants.c.role, access_grants.c.unit)).all()
    return tuple(Grant(r.role, r.unit) for r in rows)


def list_users(conn: Connection) -> list[dict[str, Any]]:
    users = [dict(r) for r in conn.execute(select(
        access_users.c.id, access_users.c.name, access_users.c.display_name,
        access_users.c.locked_until, access_users.c.disabled_at, access_users.c.oidc_subject)
        .order_by(access_users.c.name)).mappings()]
    for u in users:
        u["grants"] = grants_of(conn, u["id"])
    return users


def _principal(conn: Connection, row: Any, via: str, csrf: str | None = None) -> Principal:
    return Principal("user", row.name, grants_of(conn, row.id), via=via, csrf=csrf,
                     user_id=row.id)


# -- passwords, lock-out, sessions ------------------------------------------------------------
def sign_in(engine: Engine, name: str, password: str, ip: str | None
            ) -> tuple[Principal | None, str, str | None]:
    """(principal, result, session token). Failures count; MAX_FAILURES lock the account for
    LOCK_FOR. The attempt and its result are audited in the same transaction."""
    with engine.begin() as conn:
        row = user_row(conn, name)
        now = _now()
        result = "ok"
        if row is None or row.password_hash is None or row.disabled_at is not None:
            _spend(password)
            result = "failed"
        elif (locked := _aware(row.locked_until)) is not None and locked > now:
            _spend(password)
            result = "locked"
        else:
            try:
                hasher.verify(row.password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                result = "failed"
        token = None
        principal = None
        if row is not None and result == "failed":
            failures = row.failed_signins + 1
            values: dict[str, Any] = {"failed_signins": failures}
            if failures >= MAX_FAILURES:
                values.update(locked_until=now + LOCK_FOR, failed_signins=0)
                result = "failed, locked"
            conn.execute(update(access_users).where(access_users.c.id == row.id).values(values))
        elif row is not None and result == "ok":
            if row.failed_signins or row.locked_until is not None:
                conn.execute(update(access_users).where(access_users.c.id == row.id)
                             .values(failed_signins=0, locked_until=None))
            if hasher.check_needs_rehash(row.password_hash):
                conn.execute(update(access_users).where(access_users.c.id == row.id)
                             .values(password_hash=hasher.hash(password)))
            token, csrf = new_session(conn, row.id, ip, "password")
            principal = _principal(conn, row, "session", csrf)
        audit.append(conn, actor=f"user:{name}", roles=principal.roles if principal else "",
                     action="sign-in password", result=result, ip=ip)
    return principal, result, token


def _spend(password: str) -> None:
    with contextlib.suppress(VerificationError):
        hasher.verify(_DUMMY, password)


def new_session(conn: Connection, user_id: int, ip: str | None, method: str) -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    conn.execute(insert(access_sessions).values(
        token_hash=sha256(token), user_id=user_id, csrf=csrf, created_at=now,
        expires_at=now + SESSION_FOR, ip=ip, method=method))
    return token, csrf


def end_session(conn: Connection, token: str) -> None:
    conn.execute(update(access_sessions).where(access_sessions.c.token_hash == sha256(token))
                 .values(revoked_at=_now()))


def principal_for_session(engine: Engine, token: str) -> Principal | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(access_users, access_sessions.c.csrf, access_sessions.c.expires_at)
            .join(access_sessions, access_sessions.c.user_id == access_users.c.id)
            .where(access_sessions.c.token_hash == sha256(token),
                   access_sessions.c.revoked_at.is_(None),
                   access_users.c.disabled_at.is_(None))).first()
        if row is None or (_aware(row.expires_at) or _now()) <= _now():
            return None
        return _principal(conn, row, "session", row.csrf)


# -- API tokens for scripts; source tokens of the intake door ---------------------------------
def issue_token(conn: Connection, name: str, label: str, days: int | None = 365) -> str:
    row = user_row(conn, name)
    if row is None:
        raise AccessError(f"no user {name!r}")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(insert(access_tokens).values(
        token_hash=sha256(token), user_id=row.id, label=label, created_at=_now(),
        expires_at=_now() + timedelta(days=days) if days else None))
    return token


def principal_for_token(engine: Engine, token: str) -> Principal | None:
    """A user's API token, else a source system's token (one lookup path for both)."""
    digest = sha256(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(access_users, access_tokens.c.expires_at.label("token_expires"))
            .join(access_tokens, access_tokens.c.user_id == access_users.c.id)
            .where(access_tokens.c.token_hash == digest, access_tokens.c.revoked_at.is_(None),
                   access_users.c.disabled_at.is_(None))).first()
        if row is not None:
            expires = _aware(row.token_expires)
            if expires is not None and expires <= _now():
                return None
            return _principal(conn, row, "token")
        src = conn.execute(select(intake_sources).where(
            intake_sources.c.token_hash == digest, intake_sources.c.revoked_at.is_(None))
        ).first()
    if src is None:
        return None
    return Principal("source", src.name, via="source", feeds=frozenset(src.feeds),
                     source_units=frozenset(src.units) if src.units is not None else None)
