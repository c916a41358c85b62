"""Webhook subscriptions for operators: create, list, change, turn on and off, delete, and see
each one's deliveries (docs/webhooks.md). Every change is audited by the guard."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chiso.access.guard import principal
from chiso.store import outbox, webhooks
from chiso.web.deps import Conn, Id, Rt

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class SubscriptionIn(BaseModel):
    url: str = Field(max_length=2000, description="http(s) address that receives the POSTs")
    events: list[str] = Field(max_length=len(webhooks.EVENTS),
                              description=f"some of {', '.join(webhooks.EVENTS)}")
    secret: str | None = Field(default=None, max_length=200, description=(
        "HMAC-SHA256 key, at least 16 characters; left out: chiso makes one and answers it "
        "once"))
    description: str = Field(default="", max_length=500)


class SubscriptionChange(BaseModel):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=len(webhooks.EVENTS))
    secret: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="false: off; true: on again")


class SubscriptionOut(BaseModel):
    """A subscription as operators see it (the secret never leaves chiso after creation)."""

    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_by: str
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class Created(SubscriptionOut):
    secret: str | None = Field(default=None, description="the signing secret chiso made, "
                               "shown once; absent when the operator gave one")


class Delivery(BaseModel):
    """A message to the subscriber and every attempt at it."""

    model_config = ConfigDict(extra="allow")

    id: int
    channel: str
    event: str
    state: str
    attempts: list[dict[str, Any]]


def _bad(exc: webhooks.WebhookError) -> HTTPException:
    return HTTPException(422, str(exc))


def _missing(subscription_id: int) -> HTTPException:
    return HTTPException(404, f"webhook {subscription_id}: no such subscription")


@router.get("", response_model=list[SubscriptionOut])
def listing(conn: Conn) -> list[dict[str, Any]]:
    """Every subscription, with why it was turned off, if it was (never its secret)."""
    return [asdict(s) for s in webhooks.listing(conn)]


@router.post("", status_code=201, response_model=Created, response_model_exclude_unset=True)
def create(body: SubscriptionIn, request: Request, rt: Rt) -> dict[str, Any]:
    """Subscribe a URL to events. The answer holds the secret when chiso made it: keep it,
    it is not shown again. 422 names the field at fault."""
    secret = body.secret or secrets.token_urlsafe(32)
    try:
        with rt.engine.begin() as conn:
            made = webhooks.create(conn, url=body.url, secret=secret, events=body.events,
                                   by=principal(request).name, now=datetime.now(UTC),
                                   description=body.description)
    except webhooks.WebhookError as exc:
        raise _bad(exc) from exc
    return asdict(made) | ({"secret": secret} if body.secret is None else {})


@router.get("/{subscription_id}", response_model=SubscriptionOut)
def one(subscription_id: Id, conn: Conn) -> dict[str, Any]:
    found = webhooks.get(conn, subscription_id)
    if found is None:
        raise _missing(subscription_id)
    return asdict(found)


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
def change(subscription_id: Id, body: SubscriptionChange, rt: Rt) -> dict[str, Any]:
    """Change the URL, events or secret, or turn it off (``active: false``) or on again."""
    try:
        with rt.engine.begin() as conn:
            found = webhooks.change(conn, subscription_id, url=body.url, secret=body.secret,
                                    events=body.events, active=body.active)
    except webhooks.WebhookError as exc:
        raise _bad(exc) from exc
    if found is None:
        raise _missing(subscription_id)
    return asdict(found)


@router.delete("/{subscription_id}", status_code=204)
def remove(subscription_id: Id, rt: Rt) -> None:
    """Delete it; messages still waiting for it are dead-lettered unsent."""
    with rt.engine.begin() as conn:
        if not webhooks.delete(conn, subscription_id):
            raise _missing(subscription_id)


@router.get("/{subscription_id}/deliveries", response_model=list[Delivery])
def deliveries(subscription_id: Id, conn: Conn,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Its newest messages, each with every attempt (outcome, answer, time)."""
    if webhooks.get(conn, subscription_id) is None:
        raise _missing(subscription_id)
    found = outbox.messages(conn, channel=webhooks.channel(subscription_id), limit=limit)
    tries = outbox.attempts(conn, [m.id for m in found], limit=limit * 20)
    return [asdict(m) | {"attempts": [asdict(a) for a in tries if a.message_id == m.id]}
            for m in found]
