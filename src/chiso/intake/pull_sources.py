"""Pull sources the operator manages in the app: the pull connectors (``chiso.intake.pull``)
kept as data, run by the service, with what their runs did.

A pull source is a connector's settings (feed, source name, address, path, paging, page size,
schedule), whether it is paused, and its credentials: HTTP headers (``Authorization``,
``X-Api-Key`` …) sealed with AES-GCM under the deployment's secrets key
(``CHISO_SECRETS_KEY``). A credential's value is never answered, logged or audited: readers
see which header names are set, nothing more; saving without ``credentials`` keeps them.

:func:`run_due` runs every source whose interval has passed since its last run; the service
calls it under the single-run lock ``pull-sources`` (:func:`serve`), so however many server
processes run, one of them pulls. Each run records its time, whether it read everything the
source had (``last_drained_at``: the lag behind the source is the time since), and outages:
a failing run opens one (``failing_since``, ``outages`` + 1), the next good run closes it
(``last_recovered_at``). The connector's cursor and last error stay in ``intake_cursors``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field
from sqlalchemy import Connection, Engine, Select, select, update

from chiso.addresses import unroutable
from chiso.catalog.loader import Catalog
from chiso.context import Answer
from chiso.intake.pull import Connector, PullRunner, RunResult
from chiso.intake.settings import IntakeSettings
from chiso.store.tables import intake_cursors, pull_sources

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
MAX_CREDENTIALS = 8
MAX_PAGE = 5000
MIN_INTERVAL, MAX_INTERVAL = 5.0, 86_400.0
Paging = Literal["cursor", "updated_since"]


class PullSourceError(ValueError):
    """A pull source chiso cannot keep: names the field at fault and what to do."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PullSourceSpec(Answer):
    """What the operator sets: where and how to pull."""

    feed: str
    source: str = Field(description="source name recorded as the records' provenance")
    base_url: str = Field(description="the source API's address (http or https, no password)")
    path: str = "/api/records"
    paging: Paging = "cursor"
    page_size: int = 500
    interval_seconds: float = 60.0
    paused: bool = False


class PullSource(PullSourceSpec):
    """A pull source as readers see it: its settings, which credentials are set (names only),
    and its runs."""

    name: str
    credential_names: list[str] = Field(description="header names whose values are kept "
                                        "sealed; values are never answered")
    updated_by: str
    updated_at: datetime
    last_run_at: datetime | None
    last_ok_at: datetime | None = Field(description="the last page stored")
    last_drained_at: datetime | None = Field(description="the last run that read everything "
                                             "the source had")
    lag_seconds: float | None = Field(description="seconds since the source was last read to "
                                      "its end (null: never)")
    last_records: int | None = Field(description="records read by the last run")
    records: int = Field(description="records read since the source was added")
    pages: int
    last_error: str | None
    last_error_at: datetime | None
    failing: bool = Field(description="the last run failed: an outage is under way")
    failing_since: datetime | None
    outages: int = Field(description="outages since the source was added")
    last_recovered_at: datetime | None


# -- sealing ---------------------------------------------------------------------------------
def _aead(settings: IntakeSettings) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"chiso pull-source credentials").derive(settings.sealing_key())
    return AESGCM(key)


def seal(settings: IntakeSettings, name: str, credentials: dict[str, str]) -> bytes:
    """The credentials sealed for source ``name`` (bound to it: a sealed blob copied onto
    another source does not open)."""
    nonce = secrets.token_bytes(12)
    body = json.dumps(credentials, sort_keys=True).encode()
    return nonce + _aead(settings).encrypt(nonce, body, name.encode())


def unseal(settings: IntakeSettings, name: str, sealed: bytes) -> dict[str, str]:
    try:
        body = _aead(settings).decrypt(sealed[:12], sealed[12:], name.encode())
    except InvalidTag:
        raise PullSourceError("credentials", "they were sealed with another secrets key; "
                              "enter them again") from None
    found = json.loads(body)
    return {str(k): str(v) for k, v in found.items()}


# -- checking --------------------------------------------------------------------------------
def check_name(name: str) -> str:
    if not NAME.match(name):
        raise PullSourceError("name", f"{name[:80]!r} is not a source name: lower-case "
                              "letters, digits, '.', '_' and '-', at most 64")
    return name


def _check(spec: PullSourceSpec, catalog: Catalog, settings: IntakeSettings) -> None:
    if spec.feed not in catalog.feeds:
        raise PullSourceError("feed", f"{spec.feed[:80]!r} is not a feed; known: "
                              f"{', '.join(sorted(catalog.feeds))}")
    if not NAME.match(spec.source):
        raise PullSourceError("source", "lower-case letters, digits, '.', '_' and '-', at "
                              "most 64")
    parts = urlsplit(spec.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PullSourceError("base_url", "an http:// or https:// address with a host")
    if parts.username or parts.password:
        raise PullSourceError("base_url", "no user name or password in the address: give "
                              "them as credentials, which are kept sealed")
    if parts.query or parts.fragment or len(spec.base_url) > 2000:
        raise PullSourceError("base_url", "no query or fragment, at most 2000 characters")
    if (address := unroutable(parts.hostname)) is not None:
        raise PullSourceError("base_url", f"the host reaches {address}, a link-local, "
                              "multicast or unspecified address, where no source lives (a "
                              "cloud's metadata service does)")
    if not spec.path.startswith("/") or len(spec.path) > 500 or "?" in spec.path:
        raise PullSourceError("path", "starts with '/', no query, at most 500 characters")
    limit = min(MAX_PAGE, settings.max_batch_records)
    if not 1 <= spec.page_size <= limit:
        raise PullSourceError("page_size", f"between 1 and {limit}")
    if not MIN_INTERVAL <= spec.interval_seconds <= MAX_INTERVAL:
        raise PullSourceError("interval_seconds", f"between {MIN_INTERVAL:g} and "
                              f"{MAX_INTERVAL:g} seconds")


def _check_credentials(credentials: dict[str, str]) -> None:
    if len(credentials) > MAX_CREDENTIALS:
        raise PullSourceError("credentials", f"at most {MAX_CREDENTIALS} headers")
    for header, value in credentials.items():
        if not HEADER.match(header):
            raise PullSourceError("credentials", f"{header[:40]!r} is not an HTTP header name")
        if not value or len(value) > 4000 or any(c in value for c in "\r\n\0"):
            raise PullSourceError("credentials", f"the value of {header!r} is empty, longer "
                                  "than 4000 characters or holds a line break")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


# -- writing ---------------------------------------------------------------------------------
def save(engine: Engine, catalog: Catalog, settings: IntakeSettings, name: str,
         spec: PullSourceSpec, credentials: dict[str, str] | None, *, by: str,
         now: datetime) -> PullSource:
    """Add or change source ``name``. ``credentials``: None keeps those kept, ``{}`` removes
    them, otherwise they replace them. A source whose address or feed changes keeps its
    cursor only if the feed is the same (a new feed starts from the source's beginning)."""
    check_name(name)
    _check(spec, catalog, settings)
    values: dict[str, object] = {
        "feed": spec.feed, "source": spec.source, "base_url": spec.base_url, "path": spec.path,
        "paging": spec.paging, "page_size": spec.page_size,
        "interval_seconds": spec.interval_seconds, "paused": spec.paused, "updated_by": by,
        "updated_at": now.astimezone(UTC)}  # SQLite keeps no offset: instants in UTC
    if credentials is not None:
        _check_credentials(credentials)
        values["credentials"] = seal(settings, name, credentials) if credentials else None
        values["credential_names"] = sorted(credentials)
    with engine.begin() as conn:
        old = conn.execute(select(pull_sources.c.feed, pull_sources.c.base_url,
                                  pull_sources.c.credentials).where(
            pull_sources.c.name == name)).first()
        if (credentials is None and old is not None and old.credentials is not None
                and _origin(old.base_url) != _origin(spec.base_url)):
            # sealed credentials never follow the source to another server
            raise PullSourceError("credentials", "the address now points to another server: "
                                  "give the credentials for it again ({} for none)")
        if old is None:
            conn.execute(pull_sources.insert().values(
                name=name, outages=0, **({"credential_names": []} | values)))
        else:
            conn.execute(update(pull_sources).where(pull_sources.c.name == name)
                         .values(values))
        if old is None or old.feed != spec.feed:
            conn.execute(intake_cursors.delete().where(intake_cursors.c.connector == name))
        found = _one(conn, name, now)
    assert found is not None
    return found


def set_paused(engine: Engine, name: str, paused: bool, *, by: str, now: datetime
               ) -> PullSource | None:
    """Pause or resume a source; None when there is no such source."""
    with engine.begin() as conn:
        done = conn.execute(update(pull_sources).where(pull_sources.c.name == name)
                            .values(paused=paused, updated_by=by,
                                    updated_at=now.astimezone(UTC)))
        return _one(conn, name, now) if done.rowcount else None


# -- reading ---------------------------------------------------------------------------------
def _query() -> Select[Any]:
    return select(pull_sources, intake_cursors.c.last_ok_at, intake_cursors.c.last_error,
                  intake_cursors.c.last_error_at, intake_cursors.c.records.label("total"),
                  intake_cursors.c.pages).select_from(pull_sources.outerjoin(
                      intake_cursors, intake_cursors.c.connector == pull_sources.c.name))


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC instants."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _view(row: object, now: datetime) -> PullSource:
    r = row._mapping  # type: ignore[attr-defined]
    drained = _aware(r["last_drained_at"])
    return PullSource(
        name=r["name"], feed=r["feed"], source=r["source"], base_url=r["base_url"],
        path=r["path"], paging=r["paging"], page_size=r["page_size"],
        interval_seconds=r["interval_seconds"], paused=r["paused"],
        credential_names=list(r["credential_names"] or []), updated_by=r["updated_by"],
        updated_at=_aware(r["updated_at"]), last_run_at=_aware(r["last_run_at"]),
        last_ok_at=_aware(r["last_ok_at"]), last_drained_at=drained,
        lag_seconds=max(0.0, (now - drained).total_seconds()) if drained else None,
        last_records=r["last_records"], records=r["total"] or 0, pages=r["pages"] or 0,
        last_error=r["last_error"], last_error_at=_aware(r["last_error_at"]),
        failing=r["failing_since"] is not None,
        failing_since=_aware(r["failing_since"]), outages=r["outages"],
        last_recovered_at=_aware(r["last_recovered_at"]))


def _one(conn: Connection, name: str, now: datetime) -> PullSource | None:
    row = conn.execute(_query().where(pull_sources.c.name == name)).first()
    return _view(row, now) if row is not None else None


def one(conn: Connection, name: str, now: datetime) -> PullSource | None:
    """One source as readers see it (never its credentials' values)."""
    return _one(conn, name, now)


def listing(conn: Connection, now: datetime) -> list[PullSource]:
    """Every source, by name, with its runs."""
    return [_view(r, now) for r in conn.execute(_query().order_by(pull_sources.c.name))]


# -- running ---------------------------------------------------------------------------------
def connector(settings: IntakeSettings, row: object) -> Connector:
    """The connector a stored source describes, its credentials unsealed for the run only."""
    r = row._mapping  # type: ignore[attr-defined]
    headers = unseal(settings, r["name"], r["credentials"]) if r["credentials"] else None
    return Connector(r["name"], r["feed"], r["source"], r["base_url"], r["path"],
                     r["paging"], r["page_size"], r["interval_seconds"], headers=headers)


def run_source(engine: Engine, catalog: Catalog, settings: IntakeSettings, name: str,
               now: Callable[[], datetime]) -> RunResult:
    """Run source ``name`` once (every page it has now) and record how it went."""
    with engine.connect() as conn:
        row = conn.execute(select(pull_sources).where(pull_sources.c.name == name)).first()
    if row is None:
        return RunResult(error="no such source")
    try:
        c = connector(settings, row)
    except PullSourceError as exc:
        result = RunResult(error=str(exc))
    else:
        with httpx2.Client(timeout=30.0, headers=c.headers) as client:
            result = PullRunner(engine, c, catalog, settings, client).run_once()
    _record(engine, name, result, now().astimezone(UTC))
    return result


def _record(engine: Engine, name: str, result: RunResult, at: datetime) -> None:
    with engine.begin() as conn:
        failing = conn.execute(select(pull_sources.c.failing_since).where(
            pull_sources.c.name == name)).scalar_one_or_none()
        values: dict[str, object] = {"last_run_at": at, "last_records": result.records}
        if result.error is None:
            values["last_drained_at"] = at
            if failing is not None:
                values |= {"failing_since": None, "last_recovered_at": at}
        elif failing is None:
            values |= {"failing_since": at, "outages": pull_sources.c.outages + 1}
        if result.error is not None:  # errors the runner did not write (a key that fails)
            conn.execute(intake_cursors.update().where(
                intake_cursors.c.connector == name, intake_cursors.c.last_error.is_(None))
                .values(last_error=result.error[:2000], last_error_at=at))
        conn.execute(update(pull_sources).where(pull_sources.c.name == name).values(values))


def due(engine: Engine, now: datetime) -> list[str]:
    """The sources not paused whose interval has passed since their last run."""
    with engine.connect() as conn:
        rows = conn.execute(select(pull_sources.c.name, pull_sources.c.last_run_at,
                                   pull_sources.c.interval_seconds).where(
            pull_sources.c.paused.is_(False)).order_by(pull_sources.c.name)).all()
    return [r.name for r in rows
            if r.last_run_at is None
            or (now - _aware(r.last_run_at)).total_seconds()  # type: ignore[operator]
            >= r.interval_seconds]


async def run_due(engine: Engine, catalog: Catalog, settings: IntakeSettings,
                  now: Callable[[], datetime]) -> dict[str, RunResult]:
    """Run every due source, each in a worker thread, side by side."""
    names = await asyncio.to_thread(due, engine, now())
    results = await asyncio.gather(*(asyncio.to_thread(
        run_source, engine, catalog, settings, n, now) for n in names))
    for name, result in zip(names, results, strict=True):
        if result.records:
            log.info("pull source %s: %d records in %d pages", name, result.records,
                     result.pages)
    return dict(zip(names, results, strict=True))


async def serve(engine: Engine, catalog: Catalog, settings: IntakeSettings,
                now: Callable[[], datetime], poll: float) -> None:
    """Look for due sources every ``poll`` seconds (single-run work, until cancelled). A
    failing database fails that look only."""
    while True:
        try:
            await run_due(engine, catalog, settings, now)
        except Exception:
            log.exception("pull sources: a run failed")
        await asyncio.sleep(poll)
