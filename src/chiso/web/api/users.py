"""The operator's account care as JSON: users, disabling, sessions, API tokens, password reset.

Every change is a write the request commits, so the guard's audit hook records it (actor,
action with the route, the user in the path) in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, Field

from chiso.access import accounts
from chiso.context import Runtime
from chiso.web.deps import Conn

router = APIRouter(prefix="/api/v1/users", tags=["access"])


class GrantOut(BaseModel):
    role: str
    unit: str | None


class UserOut(BaseModel):
    name: str
    display_name: str
    disabled: bool
    locked_until: datetime | None
    single_sign_on: bool = Field(description="created by single sign-on (no local password)")
    grants: list[GrantOut]


class SessionOut(BaseModel):
    id: str = Field(description="SHA-256 of the session cookie (reveals nothing of it)")
    method: str
    ip: str | None
    created_at: datetime
    expires_at: datetime


class TokenOut(BaseModel):
    id: str = Field(description="SHA-256 of the token (reveals nothing of it)")
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class Done(BaseModel):
    user: str
    done: str


class NewPassword(BaseModel):
    password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=1024)


def user_out(row: dict[str, Any]) -> UserOut:
    return UserOut(name=row["name"], display_name=row["display_name"],
                   disabled=row["disabled_at"] is not None, locked_until=row["locked_until"],
                   single_sign_on=row["oidc_subject"] is not None,
                   grants=[GrantOut(role=g.role, unit=g.unit) for g in row["grants"]])


def _change(request: Request, name: str, done: str, change: object) -> Done:
    rt: Runtime = request.app.state.runtime
    try:
        with rt.engine.begin() as conn:
            change(conn)  # type: ignore[operator]
    except accounts.AccessError as exc:
        raise HTTPException(404 if isinstance(exc, accounts.UnknownError) else 422,
                            str(exc)) from exc
    return Done(user=name, done=done)


@router.get("")
def users(conn: Conn) -> list[UserOut]:
    """Every account: its grants, whether it is disabled or locked, how it signs in."""
    return [user_out(u) for u in accounts.list_users(conn)]


@router.post("/{name}/disable")
def disable(request: Request, name: str) -> Done:
    """Disable the account; its sessions and API tokens stop working at once."""
    return _change(request, name, "disabled",
                   lambda conn: accounts.disable_user(conn, name))


@router.post("/{name}/enable")
def enable(request: Request, name: str) -> Done:
    return _change(request, name, "enabled", lambda conn: accounts.enable_user(conn, name))


@router.post("/{name}/password")
def reset_password(request: Request, name: str,
                   body: Annotated[NewPassword, Body()]) -> Done:
    """Set a new password (at least 12 characters); the user's sessions end."""
    return _change(request, name, "password reset",
                   lambda conn: accounts.reset_password(conn, name, body.password))


def _listed(conn: Conn, name: str, reader: object) -> list[dict[str, object]]:
    try:
        found: list[dict[str, object]] = reader(conn, name)  # type: ignore[operator]
    except accounts.AccessError as exc:
        raise HTTPException(404, str(exc)) from exc
    return found


@router.get("/{name}/sessions")
def sessions(conn: Conn, name: str) -> list[SessionOut]:
    """The user's open sessions, newest first."""
    return [SessionOut.model_validate(s) for s in _listed(conn, name, accounts.sessions_of)]


@router.delete("/{name}/sessions/{session_id}")
def revoke_session(request: Request, name: str, session_id: str) -> Done:
    return _change(request, name, "session revoked",
                   lambda conn: accounts.revoke_session(conn, name, session_id))


@router.get("/{name}/tokens")
def tokens(conn: Conn, name: str) -> list[TokenOut]:
    """The user's API tokens, revoked ones included."""
    return [TokenOut.model_validate(t) for t in _listed(conn, name, accounts.tokens_of)]


@router.delete("/{name}/tokens/{token_id}")
def revoke_token(request: Request, name: str, token_id: str) -> Done:
    return _change(request, name, "token revoked",
                   lambda conn: accounts.revoke_token(conn, name, token_id))
