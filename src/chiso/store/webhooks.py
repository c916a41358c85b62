"""Webhook subscriptions, and announcing an event to them through the outbox.

An operator subscribes a URL, with a secret, to some of :data:`EVENTS`. A room announces an
event with :func:`publish` on the connection of the change, so each subscriber's message is
written in the change's transaction (the outbox delivers it; docs/outbox.md). ``debounce``
coalesces a burst: while a message for the same subject waits unsent, a newer announcement
replaces its body instead of adding another, and the message leaves ``debounce`` seconds after
the first announcement. A subscription whose message is dead-lettered is disabled until an
operator turns it on again (:func:`on_dead`). Contract: docs/webhooks.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select, update

from chiso.addresses import unroutable
from chiso.store import outbox
from chiso.store.tables import outbox_messages, webhook_subscriptions

VALUE_CHANGED = "value.changed"
TARGET_STATUS_CHANGED = "target.status_changed"
ALERT_RAISED = "alert.raised"
REPORT_ISSUED = "report.issued"
RANKING_PUBLISHED = "ranking.published"
EVENTS = (VALUE_CHANGED, TARGET_STATUS_CHANGED, ALERT_RAISED, REPORT_ISSUED, RANKING_PUBLISHED)
CHANNEL = "webhook"
#: How long a burst of changes about one subject (a value, a ranking) settles before its one
#: message leaves.
DEBOUNCE_SECONDS = 30.0
MIN_SECRET = 16


class WebhookError(ValueError):
    """A subscription that cannot be: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Subscription:
    """A subscription as operators see it (the secret never leaves chiso)."""

    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_by: str
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


def channel(subscription_id: int) -> str:
    return f"{CHANNEL}:{subscription_id}"


def _check(url: str | None, secret: str | None, events: list[str] | None) -> None:
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WebhookError("url", f"{url!r} is not an http(s) address")
        if (address := unroutable(parts.hostname or "")) is not None:
            raise WebhookError("url", f"{url!r} reaches {address}, a link-local, multicast or "
                               "unspecified address, where no receiver of ours lives (a "
                               "cloud's metadata service does)")
    if secret is not None and len(secret) < MIN_SECRET:
        raise WebhookError("secret", f"at least {MIN_SECRET} characters")
    if events is not None:
        if not events:
            raise WebhookError("events", f"name at least one of {', '.join(EVENTS)}")
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise WebhookError("events", f"{unknown[0]!r} is not an event; events: "
                               f"{', '.join(EVENTS)}")


def _row(r: Any) -> Subscription:
    return Subscription(r.id, r.url, list(r.events), r.description, bool(r.active),
                        r.created_by, outbox.utc(r.created_at),
                        None if r.disabled_at is None else outbox.utc(r.disabled_at),
                        r.disabled_reason)


def create(conn: Connection, *, url: str, secret: str, events: list[str], by: str,
           now: datetime, description: str = "") -> Subscription:
    """A new, active subscription; :class:`WebhookError` naming the field at fault."""
    _check(url, secret, events)
    result = conn.execute(webhook_subscriptions.insert().values(
        url=url, secret=secret, events=sorted(set(events)), description=description,
        active=True, created_by=by, created_at=outbox.utc(now)))
    pk = result.inserted_primary_key
    assert pk is not None
    found = get(conn, int(pk[0]))
    assert found is not None
    return found


def get(conn: Connection, subscription_id: int) -> Subscription | None:
    row = conn.execute(select(webhook_subscriptions).where(
        webhook_subscriptions.c.id == subscription_id)).first()
    return None if row is None else _row(row)


def listing(conn: Connection) -> list[Subscription]:
    return [_row(r) for r in conn.execute(select(webhook_subscriptions)
                                          .order_by(webhook_subscriptions.c.id))]


def change(conn: Connection, subscription_id: int, *, url: str | None = None,
           secret: str | None = None, events: list[str] | None = None,
           active: bool | None = None) -> Subscription | None:
    """Change a subscription (``None``: leave as is); turning it on clears why it was
    disabled. ``None`` when there is no such subscription."""
    _check(url, secret, events)
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = url
    if secret is not None:
        values["secret"] = secret
    if events is not None:
        values["events"] = sorted(set(events))
    if active is not None:
        values["active"] = active
        if active:
            values |= {"disabled_at": None, "disabled_reason": None}
    if values:
        conn.execute(update(webhook_subscriptions)
                     .where(webhook_subscriptions.c.id == subscription_id).values(**values))
    return get(conn, subscription_id)


def delete(conn: Connection, subscription_id: int) -> bool:
    """Remove a subscription; its waiting messages are dead-lettered unsent."""
    done = conn.execute(webhook_subscriptions.delete()
                        .where(webhook_subscriptions.c.id == subscription_id))
    return done.rowcount == 1


def secret_of(conn: Connection, name: str) -> str | None:
    """The secret of channel ``webhook:<id>``; ``None`` when the subscription is gone or off."""
    kind, _, ident = name.partition(":")
    if kind != CHANNEL or not ident.isdigit():
        return None
    row = conn.execute(select(webhook_subscriptions.c.secret, webhook_subscriptions.c.active)
                       .where(webhook_subscriptions.c.id == int(ident))).first()
    return None if row is None or not row.active else str(row.secret)


def on_dead(conn: Connection, message: outbox.Message) -> Subscription | None:
    """A webhook message was dead-lettered: disable its subscription, saying why (the
    operator sees it in the subscription and in the outbox; no more messages pile up). The
    subscription this turned off, or ``None`` (not a webhook, or already off)."""
    kind, _, ident = message.channel.partition(":")
    if kind != CHANNEL or not ident.isdigit():
        return None
    done = conn.execute(update(webhook_subscriptions)
                        .where(webhook_subscriptions.c.id == int(ident),
                               webhook_subscriptions.c.active.is_(True))
                        .values(active=False, disabled_at=message.next_at,
                                disabled_reason=f"message {message.id} ({message.event}) "
                                f"failed {message.attempts} times: "
                                f"{message.last_error or ''}"[:500]))
    return get(conn, int(ident)) if done.rowcount == 1 else None


def publish(conn: Connection, event: str, subject: str, data: dict[str, Any],
            now: datetime, debounce: float = 0.0) -> list[int]:
    """Announce ``event`` about ``subject`` (e.g. ``tthc.on_time_rate:00070:2026-03``) to
    every active subscription that wants it, in the caller's transaction; the ids of the
    messages written or refreshed. With ``debounce``, a waiting unsent message about the
    same subject is refreshed instead (see the module's doc)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    now = outbox.utc(now)
    subs = [(r.id, r.url, r.events) for r in conn.execute(
        select(webhook_subscriptions.c.id, webhook_subscriptions.c.url,
               webhook_subscriptions.c.events)
        .where(webhook_subscriptions.c.active.is_(True)))]
    out: list[int] = []
    for sid, url, events in subs:
        if event not in events:
            continue
        group = f"{event}:{subject}:"
        body = {"event": event, "subject": subject, "occurred_at": now.isoformat(),
                "subscription": sid, "data": data}
        if debounce > 0:
            waiting = conn.execute(select(outbox_messages.c.id).where(
                outbox_messages.c.channel == channel(sid),
                outbox_messages.c.state == outbox.PENDING,
                outbox_messages.c.attempts == 0,
                outbox_messages.c.idempotency_key.startswith(group, autoescape=True))
                .limit(1)).scalar()
            if waiting is not None:
                key = conn.execute(select(outbox_messages.c.idempotency_key)
                                   .where(outbox_messages.c.id == waiting)).scalar_one()
                conn.execute(update(outbox_messages).where(outbox_messages.c.id == waiting)
                             .values(body=outbox.encode({**body, "id": key}), url=url))
                out.append(int(waiting))
                continue
        key = group + uuid.uuid4().hex
        mid = outbox.enqueue(conn, channel=channel(sid), event=event, url=url, key=key,
                             payload={**body, "id": key}, now=now,
                             delay=timedelta(seconds=debounce))
        assert mid is not None
        out.append(mid)
    return out
