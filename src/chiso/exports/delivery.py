"""The outbox's delivery worker: one per database, however many chiso processes run.

Only the holder of the outbox lock delivers: a PostgreSQL advisory lock held on a connection
of its own (released by the server when the holder's process dies), or on SQLite an exclusive
``flock`` on a file beside the database (released by the kernel when the process dies). The
others stand by and take over when it goes. On PostgreSQL the holder checks, before every
message and every look at the outbox, that its lock connection still holds the lock (the
connection may drop, the server restart, an operator terminate the backend): when it does
not, the worker stops delivering and stands by until it holds the lock again.

Each delivery is an HTTP POST of the message's stored body, signed with HMAC-SHA256 over the
timestamp and the body, carrying the message's idempotency key. The attempt is recorded
before the request leaves (outcome ``sending``) and the message's next try is pushed back at
the same time, so a crash mid-request leaves a visible ``sending`` attempt (marked
``interrupted`` by the next worker) and a message that is sent again with the same key: the
receiver applies it once. Failures back off exponentially (tenacity's wait strategy) and a
message is dead-lettered after the last attempt. Contract: docs/outbox.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from tenacity import RetryCallState, wait_exponential

from chiso.addresses import unroutable
from chiso.store import outbox
from chiso.store.db import is_sqlite
from chiso.store.tables import outbox_attempts, outbox_messages

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Chiso-Signature"
TIMESTAMP_HEADER = "X-Chiso-Timestamp"
KEY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Chiso-Event"
MESSAGE_HEADER = "X-Chiso-Message"
#: The advisory lock's key on PostgreSQL (any fixed 64-bit number; "chiso-ob" in ASCII).
LOCK_KEY = 0x636869736F2D6F62
GONE = "the channel no longer exists or is turned off"
#: Longest error text kept per attempt.
DETAIL_CHARS = 500
#: Messages looked at per round.
DUE_LIMIT = 100

#: What the worker needs per channel: the secret signing its messages, or ``None`` when the
#: channel is gone (a deleted subscription): its messages are then dead-lettered unsent.
SecretOf = Callable[[Connection, str], str | None]
#: Called in the transaction that dead-letters a message (e.g. to disable a subscription);
#: what it answers is ignored.
OnDead = Callable[[Connection, outbox.Message], object]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256, keyed by the secret,
    of the timestamp (Unix seconds, decimal), a full stop and the body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, signature: str, body: bytes, now: float,
           tolerance: float = 300) -> bool:
    """What a receiver checks: the signature matches and the timestamp is within
    ``tolerance`` seconds of ``now`` (a replayed old request fails)."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart: ``max_attempts`` tries, then dead letter; the wait after
    the n-th failure grows from ``initial`` seconds, doubling, up to ``maximum``."""

    max_attempts: int = 8
    initial: float = 2.0
    maximum: float = 600.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = failures
        wait = wait_exponential(multiplier=self.initial, min=self.initial, max=self.maximum)
        return float(wait(state))


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    detail: str
    #: the receiver could not be reached at all (no connection): its other messages wait for
    #: the next round instead of each failing the same way
    unreachable: bool = False


def destination(url: str) -> str:
    """Who receives a message: ``scheme://host:port`` for HTTP(S); the scheme for the other
    transports (every e-mail goes through the one SMTP server)."""
    scheme = url.partition(":")[0].lower()
    if scheme in ("http", "https"):
        try:
            return f"{scheme}://{httpx.URL(url).netloc.decode().lower()}"
        except httpx.InvalidURL:
            return url  # its attempt fails on its own
    return scheme


#: Sends a message whose URL has another scheme than http(s) (e.g. ``mailto``: an e-mail).
Transport = Callable[[outbox.Message], Outcome]


class Deliverer:
    """Sends what is due, one message at a time, recording every attempt."""

    def __init__(self, engine: Engine, secret_of: SecretOf, *, policy: RetryPolicy,
                 timeout: float = 10.0, on_dead: OnDead | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 client: httpx.Client | None = None,
                 transports: dict[str, Transport] | None = None) -> None:
        self.engine = engine
        self.transports = dict(transports or {})
        self.secret_of = secret_of
        self.policy = policy
        self.on_dead = on_dead
        self.clock = clock
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def recover(self) -> int:
        """Mark attempts a crashed worker left ``sending`` as ``interrupted``; how many."""
        with self.engine.begin() as conn:
            done = conn.execute(update(outbox_attempts)
                                .where(outbox_attempts.c.outcome == "sending")
                                .values(outcome="interrupted", finished_at=self.clock(),
                                        detail="the worker stopped during the request"))
        return int(done.rowcount)

    def due(self, limit: int = DUE_LIMIT) -> list[tuple[int, str]]:
        """The messages due now, oldest first: (id, URL)."""
        m = outbox_messages
        with self.engine.connect() as conn:
            return [(i, u) for i, u in conn.execute(
                select(m.c.id, m.c.url).where(m.c.state == outbox.PENDING,
                                              m.c.next_at <= self.clock())
                .order_by(m.c.next_at, m.c.id).limit(limit))]

    def deliver_due(self, limit: int = DUE_LIMIT,
                    still_held: Callable[[], bool] | None = None) -> int:
        """Attempt the messages due now (at most ``limit``); how many were attempted. Once a
        receiver cannot be reached, its other messages are left due for the next round: a
        receiver that is down costs one attempt a round, not one per message waiting for it.
        ``still_held`` is asked before each message; :class:`LockLostError` when it says no."""
        down: set[str] = set()
        attempted = 0
        for message_id, url in self.due(limit):
            where = destination(url)
            if where in down:
                continue
            if still_held is not None and not still_held():
                raise LockLostError("the outbox lock is no longer held")
            result = self.deliver(message_id)
            attempted += 1
            if result is not None and result.unreachable:
                down.add(where)
        return attempted

    def deliver(self, message_id: int) -> Outcome | None:
        """One attempt at one pending message; ``None`` if it is no longer pending."""
        now = self.clock()
        with self.engine.begin() as conn:
            msg = outbox.message(conn, message_id)
            if msg is None or msg.state != outbox.PENDING:
                return None
            secret = self.secret_of(conn, msg.channel)
            number = msg.attempts + 1
            if secret is None:
                self._dead(conn, msg, GONE, now)
                return Outcome(False, None, GONE)
            # The lease: until this attempt ends, or if the process dies during it, the
            # message waits as long as a failure would make it wait.
            conn.execute(update(outbox_messages).where(outbox_messages.c.id == msg.id)
                         .values(attempts=number, next_at=now + timedelta(
                             seconds=self.policy.delay(number))))
            attempt_id = conn.execute(outbox_attempts.insert().values(
                message_id=msg.id, attempt=number, started_at=now, outcome="sending",
                detail="")).inserted_primary_key
            assert attempt_id is not None
        result = self._send(msg, secret)
        end = self.clock()
        with self.engine.begin() as conn:
            conn.execute(update(outbox_attempts).where(outbox_attempts.c.id == attempt_id[0])
                         .values(finished_at=end, outcome="ok" if result.ok else "failed",
                                 status_code=result.status_code,
                                 detail=result.detail[:DETAIL_CHARS]))
            if result.ok:
                conn.execute(update(outbox_messages).where(outbox_messages.c.id == msg.id)
                             .values(state=outbox.DELIVERED, delivered_at=end,
                                     last_error=None))
            elif number >= self.policy.max_attempts:
                self._dead(conn, msg, result.detail, end)
            else:
                conn.execute(update(outbox_messages).where(outbox_messages.c.id == msg.id)
                             .values(last_error=result.detail[:DETAIL_CHARS],
                                     next_at=end + timedelta(
                                         seconds=self.policy.delay(number))))
        return result

    def _dead(self, conn: Connection, msg: outbox.Message, why: str, now: datetime) -> None:
        conn.execute(update(outbox_messages).where(outbox_messages.c.id == msg.id)
                     .values(state=outbox.DEAD, last_error=why[:DETAIL_CHARS], next_at=now))
        log.warning("outbox: message %s to %s dead-lettered: %s", msg.id, msg.channel, why)
        if self.on_dead is not None:
            attempts = conn.execute(select(outbox_messages.c.attempts).where(
                outbox_messages.c.id == msg.id)).scalar_one()
            self.on_dead(conn, replace(msg, state=outbox.DEAD, attempts=attempts,
                                       last_error=why[:DETAIL_CHARS], next_at=now))

    def _send(self, msg: outbox.Message, secret: str) -> Outcome:
        scheme = msg.url.partition(":")[0].lower()
        if scheme in ("http", "https"):
            return self._post(msg, secret)
        transport = self.transports.get(scheme)
        if transport is None:
            return Outcome(False, None, f"no transport for {scheme}: addresses")
        return transport(msg)

    def _post(self, msg: outbox.Message, secret: str) -> Outcome:
        body = msg.body.encode()
        stamp = int(time.time())
        headers = {"Content-Type": "application/json; charset=utf-8",
                   KEY_HEADER: msg.idempotency_key, EVENT_HEADER: msg.event,
                   MESSAGE_HEADER: str(msg.id), TIMESTAMP_HEADER: str(stamp),
                   SIGNATURE_HEADER: sign(secret, stamp, body)}
        host = httpx.URL(msg.url).host
        if (address := unroutable(host)) is not None:  # a name may resolve elsewhere later
            return Outcome(False, None, f"not sent: {host} now reaches {address}, a "
                           "link-local, multicast or unspecified address")
        try:
            with self.client.stream("POST", msg.url, content=body, headers=headers) as r:
                if r.is_success:
                    return Outcome(True, r.status_code, "")
                # the receiver's words, at most a few hundred bytes of them: an answer is
                # never read whole (a small compressed one can inflate to gigabytes)
                said = b""
                for chunk in r.iter_bytes():
                    said += chunk
                    if len(said) >= 800:
                        break
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}".strip(),
                           unreachable=True)
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}".strip())
        text = said.decode("utf-8", errors="replace")[:200]
        return Outcome(False, r.status_code, f"HTTP {r.status_code}: {text}")


class LockLostError(RuntimeError):
    """The delivery worker no longer holds the outbox lock: it must stop delivering."""


#: Whether this session holds the outbox lock (a 64-bit advisory key is stored as two halves).
_HOLDS = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
              "AND pid = pg_backend_pid() AND objsubid = 1 "
              "AND ((classid::bigint << 32) | objid::bigint) = :k")


class Lease:
    """The outcome of trying to take the outbox lock: true while taken; :meth:`check` says
    whether it is still held (on PostgreSQL, asked of the lock's own connection)."""

    def __init__(self, held: bool, conn: Connection | None = None) -> None:
        self.held = held
        self.conn = conn
        self.lost = False

    def __bool__(self) -> bool:
        return self.held

    def check(self) -> bool:
        if not self.held or self.lost:
            return False
        if self.conn is None:
            return True  # a file lock is held until the process closes it
        try:
            holds = bool(self.conn.execute(_HOLDS, {"k": LOCK_KEY}).scalar())
            self.conn.commit()
        except SQLAlchemyError:
            holds = False  # the connection is gone, and the lock with it
        self.lost = not holds
        return holds


@contextlib.contextmanager
def delivery_lock(engine: Engine) -> Iterator[Lease]:
    """Try to become the one delivery worker of ``engine``'s database: a true
    :class:`Lease` while held (for the duration of the ``with``), a false one when another
    process holds it."""
    if is_sqlite(engine):
        database = make_url(str(engine.url)).database
        if not database or database == ":memory:":
            yield Lease(True)  # a private in-memory database has one process by construction
            return
        with Path(database + ".outbox-lock").open("ab") as handle:  # closing releases it
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield Lease(False)
                return
            yield Lease(True)
        return
    with engine.connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                 {"k": LOCK_KEY}).scalar())
        conn.commit()
        lease = Lease(held, conn)
        try:
            yield lease
        finally:
            if held and not lease.lost:
                with contextlib.suppress(SQLAlchemyError):  # a dead connection holds nothing
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                    conn.commit()


def run(deliverer: Deliverer, stop: threading.Event, *, poll: float = 1.0,
        on_lead: Callable[[], None] | None = None) -> None:
    """Deliver until ``stop`` is set: stand by until the lock is free, then, holding it,
    recover what a crash left, and deliver what is due, polling every ``poll`` seconds when
    nothing is. Losing the lock stops the delivering (before the next message) and the
    worker stands by again. A database error is logged and retried after ``poll``, never
    fatal."""
    while not stop.is_set():
        try:
            with delivery_lock(deliverer.engine) as lease:
                if not lease:
                    stop.wait(poll)
                    continue
                interrupted = deliverer.recover()
                if interrupted:
                    log.warning("outbox: %s attempts were cut off by a stop; resending",
                                interrupted)
                if on_lead is not None:
                    on_lead()
                while not stop.is_set():
                    if not lease.check():
                        raise LockLostError("the outbox lock is no longer held")
                    # a round that did not fill its batch leaves nothing due but what waits
                    # for a receiver that is down: look again after ``poll``
                    if deliverer.deliver_due(still_held=lease.check) < DUE_LIMIT:
                        stop.wait(poll)
        except LockLostError:
            log.warning("outbox: this worker lost the outbox lock (its connection dropped or "
                        "the server restarted); delivering stops until it holds it again")
            stop.wait(poll)
        except Exception:  # the database went away: keep trying, as the app keeps serving
            log.exception("outbox delivery failed; retrying")
            stop.wait(poll)
