"""Pull connectors: fetch a source's HTTP API page by page into the one intake path.

A connector has a name, a feed, a source name, a base URL and path, a page size and an
interval. Paging is by opaque cursor (``?cursor=&limit=`` answering ``records`` and
``next_cursor``) or by timestamp (``?updated_since=&limit=``; the cursor is then the
largest version time seen, sent back inclusive: the boundary records come again and are
no-ops, because storage is idempotent on (source, record id, version)). The cursor lives in
``intake_cursors`` and moves in the same transaction that stores the page's records, so a
crash or an outage at any point resumes exactly where the last committed page ended: no gap,
no duplicate.

Requests retry with exponential back-off (tenacity) on network errors, 5xx and 429. When the
source stays down, the run stops with the error recorded on the cursor row and the next
scheduled run tries again. A page that fails validation is refused whole (kept in the raw
archive) and the connector stops at it without moving its cursor: an operator must look.

Scheduling is a plain asyncio loop (``run_forever``): each connector is one periodic job
with no calendar rules, so a scheduler library would add a dependency and a thread pool
without removing any logic; the loop runs the blocking work in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx2
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import OperationalError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from chiso.addresses import unroutable
from chiso.catalog.loader import Catalog
from chiso.intake.pipeline import Provenance, ingest, raw_for_archive, record_refusal
from chiso.intake.settings import IntakeSettings, get_intake_settings
from chiso.intake.validate import Problem, Scope
from chiso.store.tables import intake_cursors
from chiso.text import read_json

log = logging.getLogger(__name__)


@dataclass
class Connector:
    name: str
    feed: str
    source: str
    base_url: str
    path: str = "/api/records"
    paging: Literal["cursor", "updated_since"] = "cursor"
    page_size: int = 500
    interval_seconds: float = 60.0
    max_attempts: int = 6
    max_retry_seconds: float = 60.0
    headers: dict[str, str] | None = None


@dataclass
class RunResult:
    pages: int = 0
    records: int = 0
    new_versions: int = 0
    error: str | None = None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx2.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx2.TransportError)


def get_cursor(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(select(intake_cursors.c.cursor).where(
            intake_cursors.c.connector == name)).first()
    return row.cursor if row else None


def _ensure_row(engine: Engine, c: Connector) -> None:
    with engine.begin() as conn:
        if conn.execute(select(intake_cursors.c.connector).where(
                intake_cursors.c.connector == c.name)).first() is None:
            conn.execute(intake_cursors.insert().values(
                connector=c.name, feed=c.feed, source=c.source, cursor=None, pages=0,
                records=0))


def _note_error(engine: Engine, name: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(intake_cursors.update().where(intake_cursors.c.connector == name)
                     .values(last_error=error[:2000], last_error_at=datetime.now(UTC)))


def _bounded(response: httpx2.Response, limit: int) -> bytes:
    """The answer's body, decompressed, refused past ``limit`` bytes (a small compressed
    answer can inflate to gigabytes)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise ValueError(f"the source's answer is larger than {limit} bytes once "
                             "decompressed; ask for smaller pages (page_size)")
    return bytes(body)


class PullRunner:
    """Runs one connector: ``run_once`` drains every page available now."""

    def __init__(self, engine: Engine, connector: Connector, catalog: Catalog,
                 settings: IntakeSettings | None = None,
                 client: httpx2.Client | None = None) -> None:
        self.engine = engine
        self.c = connector
        self.contract = catalog.contract(connector.feed)
        self.known_units = frozenset(catalog.units.units)
        self.settings = settings or get_intake_settings()
        self.client = client or httpx2.Client(timeout=30.0, headers=connector.headers)

    def _fetch(self, cursor: str | None) -> tuple[bytes, dict[str, Any]]:
        params: dict[str, Any] = {"limit": self.c.page_size}
        if cursor is not None:
            params["cursor" if self.c.paging == "cursor" else "updated_since"] = cursor
        url = self.c.base_url.rstrip("/") + self.c.path
        host = httpx2.URL(url).host
        if (address := unroutable(host)) is not None:  # a name may resolve elsewhere later
            raise ValueError(f"the source's host {host} now reaches {address}, a link-local, "
                             "multicast or unspecified address; nothing was pulled")
        for attempt in Retrying(
            retry=retry_if_exception(_retryable),
            wait=wait_exponential(multiplier=0.2, max=10),
            stop=stop_after_attempt(self.c.max_attempts) | stop_after_delay(
                self.c.max_retry_seconds),
            reraise=True,
        ):
            with attempt, self.client.stream("GET", url, params=params) as r:
                r.raise_for_status()
                body = _bounded(r, self.settings.max_upload_bytes)
        data = read_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise ValueError("the source answered without a 'records' list")
        return body, data

    def _next_cursor(self, data: dict[str, Any], cursor: str | None) -> str | None:
        if self.c.paging == "cursor":
            nxt = data.get("next_cursor")
            return str(nxt) if nxt is not None else cursor
        versions: list[str] = [
            v for r in data["records"] if isinstance(r, dict)
            for v in [r.get(self.contract.version)] if isinstance(v, str)]
        return max(versions) if versions else cursor

    def run_once(self, max_pages: int | None = None) -> RunResult:
        _ensure_row(self.engine, self.c)
        result = RunResult()
        cursor = get_cursor(self.engine, self.c.name)
        prov = Provenance(self.c.source, "pull", connector=self.c.name)
        scope = Scope(known_units=self.known_units)
        seen: set[str | None] = {cursor}  # a cursor met twice in one run would loop forever
        while max_pages is None or result.pages < max_pages:
            try:
                body, data = self._fetch(cursor)
            except (httpx2.HTTPError, ValueError) as exc:
                result.error = f"{type(exc).__name__}: {exc}"
                _note_error(self.engine, self.c.name, result.error)
                log.warning("connector %s: %s", self.c.name, result.error)
                return result
            records = data["records"]
            if not records:
                break
            nxt = self._next_cursor(data, cursor)
            if self.c.paging == "cursor" and data.get("has_more", True) and nxt in seen:
                result.error = (f"the source sent cursor {nxt!r} again with more pages to "
                                "come: stopped rather than pull the same pages forever; the "
                                "source's paging needs fixing")
                _note_error(self.engine, self.c.name, result.error)
                log.warning("connector %s: %s", self.c.name, result.error)
                return result
            seen.add(nxt)
            if nxt == cursor and self.c.paging == "updated_since" and len(records) >= \
                    self.c.page_size:
                problem = Problem(-1, self.contract.version, "a whole page shares one version "
                                  "time; raise page_size so that updated_since paging advances")
                kept = raw_for_archive(self.contract, body, records, self.settings)
                record_refusal(self.engine, self.contract, prov, kept, "application/json",
                               [problem])
                result.error = problem.message
                _note_error(self.engine, self.c.name, result.error)
                return result

            def move(conn: Connection, nxt: str | None = nxt, n: int = len(records)) -> None:
                conn.execute(intake_cursors.update().where(
                    intake_cursors.c.connector == self.c.name).values(
                    cursor=nxt, pages=intake_cursors.c.pages + 1,
                    records=intake_cursors.c.records + n, last_ok_at=datetime.now(UTC),
                    last_error=None))

            outcome = ingest(self.engine, self.contract, records, prov, body,
                             "application/json", scope=scope, settings=self.settings,
                             in_transaction=move)
            if not outcome.accepted:
                result.error = (f"page at cursor {cursor!r} refused (batch "
                                f"{outcome.batch_id}): {outcome.problems[0]}")
                _note_error(self.engine, self.c.name, result.error)
                return result
            result.pages += 1
            result.records += len(records)
            result.new_versions += outcome.new_versions
            cursor = nxt
            if self.c.paging == "cursor" and not data.get("has_more", True):
                break
        return result

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run every ``interval_seconds`` until ``stop``. A database that is busy or away for a
        while fails that run only: its transaction rolled back, the cursor did not move, and the
        next run pulls the same page again (versions already stored are not stored twice)."""
        while not stop.is_set():
            try:
                result = await asyncio.to_thread(self.run_once)
            except OperationalError as exc:
                reason = str(exc.orig).strip() if exc.orig else str(exc)
                log.warning("connector %s: the database failed (%s); trying again in %g s",
                            self.c.name, reason, self.c.interval_seconds)
                result = RunResult()
            if result.records:
                log.info("connector %s: %d records in %d pages", self.c.name, result.records,
                         result.pages)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.c.interval_seconds)
