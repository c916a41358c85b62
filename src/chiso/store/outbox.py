"""The outbox: messages to other systems, written in the caller's transaction.

A room that changes something other systems must hear about calls :func:`enqueue` on the
connection of that change, so the message exists exactly when the change does (both commit or
neither). The delivery worker (``chiso.exports.delivery``) sends it later; the reads here
(:func:`status`, :func:`messages`, :func:`attempts`) are what an operator monitors, and
:func:`requeue` puts a dead-lettered message back in line. Contract: docs/outbox.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from chiso.store.tables import outbox_attempts, outbox_messages

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATES = (PENDING, DELIVERED, DEAD)


def utc(t: datetime) -> datetime:
    """``t`` in UTC; a naive time (SQLite gives them back naive) is UTC already."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def encode(payload: Any) -> str:
    """The one serialisation of a message body: compact, keys sorted, UTF-8 kept as is, so
    that the same content always gives the same bytes (and the same signature)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def enqueue(conn: Connection, *, channel: str, event: str, url: str, key: str,
            payload: Any, now: datetime, delay: timedelta = timedelta()) -> int | None:
    """Add a message for ``channel`` (``export:<exporter>``, ``webhook:<id>``) to the outbox
    in the caller's transaction; due after ``delay`` (default: at once). ``key`` is the
    idempotency key: a message with the same channel and key already in the outbox makes this
    a no-op (``None``), otherwise the new message's id."""
    if len(key) > 200:
        raise ValueError(f"idempotency key longer than 200 characters: {key[:40]}…")
    exists = conn.execute(select(outbox_messages.c.id).where(
        outbox_messages.c.channel == channel,
        outbox_messages.c.idempotency_key == key)).first()
    if exists is not None:
        return None
    now = utc(now)
    result = conn.execute(outbox_messages.insert().values(
        channel=channel, event=event, url=url, idempotency_key=key, body=encode(payload),
        created_at=now, state=PENDING, attempts=0, next_at=now + delay))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


@dataclass(frozen=True)
class ChannelStatus:
    """One channel's delivery state: what waits, what failed for good, when it last worked."""

    channel: str
    pending: int
    delivered: int
    dead: int
    oldest_pending: datetime | None
    last_success: datetime | None
    last_failure: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Message:
    id: int
    channel: str
    event: str
    url: str
    idempotency_key: str
    created_at: datetime
    state: str
    attempts: int
    next_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    body: str


@dataclass(frozen=True)
class Attempt:
    message_id: int
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    status_code: int | None
    detail: str


def _opt(t: datetime | None) -> datetime | None:
    return None if t is None else utc(t)


def status(conn: Connection, channel_prefix: str = "") -> list[ChannelStatus]:
    """Per channel (those starting with ``channel_prefix``): the backlog, the dead letters, the
    oldest waiting message, the last success and the last failure with its error."""
    m, a = outbox_messages, outbox_attempts
    counts: dict[str, dict[str, int]] = {}
    oldest: dict[str, datetime | None] = {}
    for ch, state, n, first in conn.execute(
            select(m.c.channel, m.c.state, func.count(), func.min(m.c.created_at))
            .where(m.c.channel.startswith(channel_prefix, autoescape=True))
            .group_by(m.c.channel, m.c.state)):
        counts.setdefault(ch, dict.fromkeys(STATES, 0))[state] = int(n)
        if state == PENDING:
            oldest[ch] = _opt(first)
    last_ok: dict[str, datetime | None] = dict(conn.execute(
            select(m.c.channel, func.max(m.c.delivered_at))
            .where(m.c.channel.startswith(channel_prefix, autoescape=True))
            .group_by(m.c.channel)).all())
    failures: dict[str, tuple[datetime | None, str | None]] = {}
    newest_fail = (select(m.c.channel, func.max(a.c.id).label("aid"))
                   .join(a, a.c.message_id == m.c.id)
                   .where(a.c.outcome.in_(("failed", "interrupted")),
                          m.c.channel.startswith(channel_prefix, autoescape=True))
                   .group_by(m.c.channel).subquery())
    for ch, at, detail in conn.execute(
            select(newest_fail.c.channel, a.c.finished_at, a.c.detail)
            .join(a, a.c.id == newest_fail.c.aid)):
        failures[ch] = (_opt(at), detail)
    return [ChannelStatus(ch, c[PENDING], c[DELIVERED], c[DEAD], oldest.get(ch),
                          _opt(last_ok.get(ch)), *failures.get(ch, (None, None)))
            for ch, c in sorted(counts.items())]


def _message(row: Any) -> Message:
    return Message(row.id, row.channel, row.event, row.url, row.idempotency_key,
                   utc(row.created_at), row.state, row.attempts, utc(row.next_at),
                   row.last_error, _opt(row.delivered_at), row.body)


def messages(conn: Connection, *, state: str | None = None, channel: str | None = None,
             limit: int = 200) -> list[Message]:
    """The newest messages first, optionally of one state and one channel."""
    query = select(outbox_messages).order_by(outbox_messages.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(outbox_messages.c.state == state)
    if channel is not None:
        query = query.where(outbox_messages.c.channel == channel)
    return [_message(r) for r in conn.execute(query)]


def message(conn: Connection, message_id: int) -> Message | None:
    row = conn.execute(select(outbox_messages)
                       .where(outbox_messages.c.id == message_id)).first()
    return None if row is None else _message(row)


def attempts(conn: Connection, message_ids: Sequence[int] | None = None,
             limit: int = 1000) -> list[Attempt]:
    """Delivery attempts, newest first (of the given messages, or of all)."""
    a = outbox_attempts
    query = select(a).order_by(a.c.id.desc()).limit(limit)
    if message_ids is not None:
        query = query.where(a.c.message_id.in_(list(message_ids)))
    return [Attempt(r.message_id, r.attempt, utc(r.started_at), _opt(r.finished_at),
                    r.outcome, r.status_code, r.detail) for r in conn.execute(query)]


def requeue(conn: Connection, message_id: int, now: datetime) -> bool:
    """Put a dead-lettered message back in line with a fresh count of attempts; ``False``
    when there is no such dead message."""
    done = conn.execute(update(outbox_messages)
                        .where(outbox_messages.c.id == message_id,
                               outbox_messages.c.state == DEAD)
                        .values(state=PENDING, attempts=0, next_at=utc(now)))
    return done.rowcount == 1
