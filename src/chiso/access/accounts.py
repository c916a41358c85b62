"""Local accounts (argon2id), grants, sessions, API tokens, and who a credential belongs to.

Secrets are stored only as hashes: passwords with argon2id (argon2-cffi), session cookies,
API tokens and source tokens with SHA-256 (they are 256-bit random, so a fast hash is enough).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, and_, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from chiso.access import audit
from chiso.access.roles import GRANTABLE, UNIT_REQUIRED, Grant, Principal
from chiso.store.tables import (
    access_grants,
    access_sessions,
    access_signin_failures,
    access_tokens,
    access_users,
    intake_sources,
)

hasher = PasswordHasher()
_DUMMY = hasher.hash("chiso: equal work for unknown names")

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
# Failures on one name from every address together before the name is locked for all of them
# (NIST SP 800-63B, 5.2.2: at most 100 consecutive failed attempts on one account): guesses
# spread over many addresses, or over forged X-Forwarded-For values, get no more than this.
NAME_BUDGET = 100
# the key of a name's count over every address: no client address is ever empty
EVERY_CLIENT = ""
SESSION_FOR = timedelta(hours=8)
API_TOKEN_PREFIX = "chisou_"
MIN_PASSWORD = 12


class AccessError(ValueError):
    """A refused account operation, with a message for the person who asked."""


class UnknownError(AccessError):
    """The user, session or token named does not exist (or is not that user's)."""


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
        raise UnknownError(f"no user {name!r}")
    unlock(conn, name)


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
        raise UnknownError(f"no user {name!r}")
    if (Grant(role, unit or None)) in grants_of(conn, row.id):
        return
    conn.execute(insert(access_grants).values(user_id=row.id, role=role, unit=unit or None,
                                              granted_at=_now()))


def revoke(conn: Connection, name: str, role: str, unit: str | None = None) -> bool:
    row = user_row(conn, name)
    if row is None:
        raise UnknownError(f"no user {name!r}")
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
        access_users.c.locked_until, access_users.c.disabled_at, access_users.c.oidc_subject,
        access_users.c.created_at)
        .order_by(access_users.c.name)).mappings()]
    for u in users:
        u["grants"] = grants_of(conn, u["id"])
        locks = [lock["locked_until"] for lock in locks_of(conn, u["name"])]
        u["locked_until"] = max(locks) if locks else None
        u["disabled_at"] = _aware(u["disabled_at"])
        u["created_at"] = _aware(u["created_at"])
    return users


def _principal(conn: Connection, row: Any, via: str, csrf: str | None = None) -> Principal:
    return Principal("user", row.name, grants_of(conn, row.id), via=via, csrf=csrf,
                     user_id=row.id)


# -- passwords, lock-out, sessions ------------------------------------------------------------
def sign_in(engine: Engine, name: str, password: str, ip: str | None
            ) -> tuple[Principal | None, str, str | None]:
    """(principal, result, session token); result is ``ok``, ``failed``, ``failed, locked``
    or ``locked``, and is audited.

    Attempts are counted per (name, client address) before the password is checked, with one
    atomic increment, so guesses sent in parallel count one each and at most MAX_FAILURES of
    them are ever checked; the MAX_FAILURES-th failure locks that name for that client for
    LOCK_FOR (never longer). The name's failures from every address are counted the same way:
    the NAME_BUDGET-th locks the name for every client for LOCK_FOR, so that guesses spread
    over many addresses gain nothing (a password reset or re-enabling lifts it).
    Unknown and disabled names take the same path, the same argon2 work and the same answers
    as known ones."""
    key, client = name[:64], (ip or "unknown")[:64]
    with engine.begin() as conn:
        tries, locked = _count_attempt(conn, key, client, MAX_FAILURES)
        name_tries, name_locked = _count_attempt(conn, key, EVERY_CLIENT, NAME_BUDGET)
        locked = locked or name_locked
    with engine.connect() as conn:
        row = user_row(conn, name) if len(name) <= 64 else None
    if locked:
        _spend(password)
        result = "locked"
    elif row is None or row.password_hash is None or row.disabled_at is not None:
        _spend(password)
        result = "failed"
    else:
        try:
            hasher.verify(row.password_hash, password)
            result = "ok"
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            result = "failed"
    # SQLite reads the audit log's last entry before it takes the write lock: a sign-in
    # committing in between takes the same ``seq``, and the whole transaction is tried again.
    for attempt in range(20):
        try:
            principal, outcome, token = _settle(engine, row, key, client, ip, result,
                                                (tries, name_tries), password)
            break
        except IntegrityError:
            if attempt == 19:
                raise
            time.sleep(0.01 * (attempt + 1))
    return principal, outcome, token


def _settle(engine: Engine, row: Any, key: str, client: str, ip: str | None, result: str,
            tries: tuple[int, int], password: str) -> tuple[Principal | None, str, str | None]:
    """Record a sign-in's outcome in one transaction: lock after too many failures (from this
    client, or on this name from every client), or open a session; audited. ``tries`` are the
    attempts counted from this client and on the name. (principal, result, session token)."""
    token = None
    principal = None
    failures = access_signin_failures
    with engine.begin() as conn:
        if result == "failed":
            for who, count, budget in ((client, tries[0], MAX_FAILURES),
                                       (EVERY_CLIENT, tries[1], NAME_BUDGET)):
                if count >= budget:
                    conn.execute(update(failures).where(
                        failures.c.name == key, failures.c.client == who)
                        .values(locked_until=_now() + LOCK_FOR, failures=0))
                    result = "failed, locked"
        elif result == "ok" and row is not None:
            conn.execute(delete(failures).where(failures.c.name == key,
                                                failures.c.client == client))
            # the name's count is of failures: this attempt was not one
            conn.execute(update(failures).where(
                failures.c.name == key, failures.c.client == EVERY_CLIENT,
                failures.c.failures > 0).values(failures=failures.c.failures - 1))
            if hasher.check_needs_rehash(row.password_hash):
                conn.execute(update(access_users).where(access_users.c.id == row.id)
                             .values(password_hash=hasher.hash(password)))
            token, csrf = new_session(conn, row.id, ip, "password")
            principal = _principal(conn, row, "session", csrf)
        audit.append(conn, actor=f"user:{key}", roles=principal.roles if principal else "",
                     action="sign-in password", result=result, ip=ip)
    return principal, result, token


def _count_attempt(conn: Connection, name: str, client: str, budget: int
                   ) -> tuple[int, bool]:
    """Count one attempt for (name, client) atomically: (attempts since the last success or
    lock, whether the attempt must be refused as locked). ``client`` ``EVERY_CLIENT`` counts
    the name's attempts from every address."""
    now = _now()
    dialect = conn.dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
        access_signin_failures)
    # A lock that ran out, or a count with no attempt for LOCK_FOR, starts again: nothing
    # is kept longer than that, whatever happened to the attempt that should have closed it.
    expired = or_(and_(access_signin_failures.c.locked_until.is_not(None),
                       access_signin_failures.c.locked_until <= now),
                  access_signin_failures.c.updated_at <= now - LOCK_FOR)
    statement = upsert.values(name=name, client=client, failures=1, updated_at=now)
    counted = statement.on_conflict_do_update(
        index_elements=["name", "client"],
        set_={"failures": case((expired, 1), else_=access_signin_failures.c.failures + 1),
              "locked_until": case((expired, None),
                                   else_=access_signin_failures.c.locked_until),
              "updated_at": now},
    ).returning(access_signin_failures.c.failures, access_signin_failures.c.locked_until)
    tries, locked_until = conn.execute(counted).one()
    until = _aware(locked_until)
    # Beyond the budget counts as locked even before the failing attempt that sets the lock
    # has finished: parallel guesses never get more than ``budget`` checks.
    return int(tries), (until is not None and until > now) or tries > budget


def locks_of(conn: Connection, name: str) -> list[dict[str, Any]]:
    """The sign-in locks in force on a name, per client address (``EVERY_CLIENT``: the
    name's lock for every address)."""
    now = _now()
    rows = conn.execute(select(access_signin_failures).where(
        access_signin_failures.c.name == name,
        access_signin_failures.c.locked_until.is_not(None))).all()
    return [{"client": r.client, "locked_until": _aware(r.locked_until)}
            for r in rows if (_aware(r.locked_until) or now) > now]


def unlock(conn: Connection, name: str) -> None:
    """Lift every sign-in lock and failure count on a name."""
    conn.execute(delete(access_signin_failures).where(access_signin_failures.c.name == name))


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


def end_session(conn: Connection, token: str) -> str | None:
    """End the session; how it was opened (``password`` or ``oidc``), None if unknown."""
    method: str | None = conn.execute(select(access_sessions.c.method).where(
        access_sessions.c.token_hash == sha256(token))).scalar()
    conn.execute(update(access_sessions).where(access_sessions.c.token_hash == sha256(token))
                 .values(revoked_at=_now()))
    return method


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
        raise UnknownError(f"no user {name!r}")
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


# -- the operator's account care: disable, sessions, tokens, password reset -------------------
def _user_id(conn: Connection, name: str) -> int:
    row = user_row(conn, name)
    if row is None:
        raise UnknownError(f"no user {name!r}")
    return int(row.id)


def _end_all(conn: Connection, user_id: int, tokens: bool) -> None:
    now = _now()
    conn.execute(update(access_sessions).where(access_sessions.c.user_id == user_id,
                                               access_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=now))
    if tokens:
        conn.execute(update(access_tokens).where(access_tokens.c.user_id == user_id,
                                                 access_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=now))


def disable_user(conn: Connection, name: str) -> None:
    """Disable an account: it cannot sign in, and its sessions and API tokens are revoked in
    the same transaction (enabling it again brings none of them back)."""
    user_id = _user_id(conn, name)
    conn.execute(update(access_users).where(access_users.c.id == user_id,
                                            access_users.c.disabled_at.is_(None))
                 .values(disabled_at=_now()))
    _end_all(conn, user_id, tokens=True)


def enable_user(conn: Connection, name: str) -> None:
    user_id = _user_id(conn, name)
    conn.execute(update(access_users).where(access_users.c.id == user_id)
                 .values(disabled_at=None, failed_signins=0, locked_until=None))
    unlock(conn, name)


def reset_password(conn: Connection, name: str, password: str) -> None:
    """The operator sets a new password: the lock-out is lifted and every session of the
    user ends (API tokens stay: they are not tied to the password)."""
    set_password(conn, name, password)
    _end_all(conn, _user_id(conn, name), tokens=False)


def sessions_of(conn: Connection, name: str) -> list[dict[str, Any]]:
    """The user's sessions still open (not revoked, not expired), newest first; ``id`` is the
    stored SHA-256 of the cookie, which reveals nothing of the cookie itself."""
    user_id = _user_id(conn, name)
    rows = conn.execute(select(access_sessions).where(
        access_sessions.c.user_id == user_id, access_sessions.c.revoked_at.is_(None))
        .order_by(access_sessions.c.created_at.desc())).all()
    now = _now()
    return [{"id": r.token_hash, "method": r.method, "ip": r.ip,
             "created_at": _aware(r.created_at), "expires_at": _aware(r.expires_at)}
            for r in rows if (_aware(r.expires_at) or now) > now]


def tokens_of(conn: Connection, name: str) -> list[dict[str, Any]]:
    """The user's API tokens, revoked ones included; ``id`` is the stored SHA-256."""
    user_id = _user_id(conn, name)
    rows = conn.execute(select(access_tokens).where(access_tokens.c.user_id == user_id)
                        .order_by(access_tokens.c.created_at.desc())).all()
    return [{"id": r.token_hash, "label": r.label, "created_at": _aware(r.created_at),
             "expires_at": _aware(r.expires_at), "revoked_at": _aware(r.revoked_at)}
            for r in rows]


def revoke_session(conn: Connection, name: str, session_id: str) -> None:
    """End one session of the user; another user's session id is refused as unknown."""
    done = conn.execute(update(access_sessions).where(
        access_sessions.c.token_hash == session_id,
        access_sessions.c.user_id == _user_id(conn, name),
        access_sessions.c.revoked_at.is_(None)).values(revoked_at=_now()))
    if not done.rowcount:
        raise UnknownError(f"user {name!r} has no open session {session_id[:12]}…")


def revoke_token(conn: Connection, name: str, token_id: str) -> None:
    """Revoke one API token of the user; another user's token id is refused as unknown."""
    done = conn.execute(update(access_tokens).where(
        access_tokens.c.token_hash == token_id,
        access_tokens.c.user_id == _user_id(conn, name),
        access_tokens.c.revoked_at.is_(None)).values(revoked_at=_now()))
    if not done.rowcount:
        raise UnknownError(f"user {name!r} has no valid token {token_id[:12]}…")
