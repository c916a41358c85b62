"""Intake over HTTP: the push API for source systems, the feeds' contracts, batches and raw
payloads, and data accountability (the data steward's pages are ``chiso.web.pages.intake``).

``POST /api/v1/feeds/{feed}/records`` takes a batch (JSON array, ``{"records": [...]}`` or
NDJSON with ``Content-Type: application/x-ndjson``) with ``Authorization: Bearer <token>``.
The batch is accepted whole (200, after the commit) or refused whole (422 listing every bad
record by index and field; 400 for a malformed body); the raw body is archived either way.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from chiso.access.guard import principal, record_subjects
from chiso.catalog.feeds import Contract
from chiso.context import Runtime
from chiso.intake import quality
from chiso.intake.doors import ingest_body
from chiso.intake.pipeline import NOT_KEPT, Outcome, Provenance, payload_subjects, read_raw
from chiso.intake.settings import get_intake_settings
from chiso.intake.sources import Source, source_for_token
from chiso.intake.validate import Scope
from chiso.store.tables import intake_batches, intake_raw
from chiso.web.deps import Rt

router = APIRouter()


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int = Field(description="the record's position in the batch; -1: the whole batch")
    field: str | None = None
    message: str


class BatchOutcome(BaseModel):
    """A batch accepted whole or refused whole, with every problem by record and field."""

    model_config = ConfigDict(extra="allow")

    batch: int | None
    status: str
    raw_sha256: str | None
    records: int
    new_versions: int
    latest_changed: int
    problems: list[Problem]


class Batch(BaseModel):
    """A batch as it was received: door, source, unit, status and counts."""

    model_config = ConfigDict(extra="allow")

    id: int
    feed: str
    source: str
    door: str
    unit: str | None
    received_at: str
    status: str
    records: int
    new_versions: int


class DataQuality(BaseModel):
    """Completeness, timeliness and outliers per unit and feed, per day or month."""

    generated_at: str
    period: str
    rows: list[dict[str, Any]]
    outliers: list[dict[str, Any]]



def _known_units(rt: Runtime) -> frozenset[str]:
    return frozenset(rt.catalog.units.units)


def _outcome_response(outcome: Outcome) -> JSONResponse:
    body = outcome.as_dict()
    if outcome.accepted:
        return JSONResponse(body, status_code=200)
    whole = any(p.index < 0 for p in outcome.problems)
    status = 400 if whole and outcome.records == 0 else 422
    body["detail"] = ("The batch was refused whole; nothing was stored. Fix every listed "
                      "record and send the batch again.")
    return JSONResponse(body, status_code=status)


async def _authorised(rt: Runtime, request: Request, authorization: str | None,
                      feed: str) -> Source:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "send the source token as 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    who = principal(request)
    # The guard has looked the token up already: a source's needs no second query.
    source = (Source(who.name, who.feeds, who.source_units) if who.kind == "source"
              else await run_in_threadpool(source_for_token, rt.engine,
                                           authorization[7:].strip()))
    if source is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate":
                                                                     "Bearer"})
    if feed not in source.feeds:
        raise HTTPException(403, f"source {source.name!r} may not send feed {feed!r}; its "
                                 f"token covers: {', '.join(sorted(source.feeds))}")
    return source


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk and refused (413) as soon as it passes ``limit``: a
    chunked body declares no length, so the count is kept while reading."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body larger than {limit} bytes; split the batch")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/api/v1/feeds/{feed}/records", tags=["intake"], response_model=BatchOutcome,
             responses={400: {"description": "malformed body"}, 401: {}, 403: {}, 404: {},
                        413: {}, 422: {"description": "bad records, listed by index and field"}})
async def push_records(
    feed: str, request: Request, rt: Rt,
    authorization: Annotated[str | None, Header()] = None,
    content_type: Annotated[str, Header()] = "application/json",
) -> JSONResponse:
    """Accept a batch of records of a feed, whole or not at all; 200 means committed."""
    try:
        contract = rt.catalog.contract(feed)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    source = await _authorised(rt, request, authorization, feed)
    settings = get_intake_settings()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise HTTPException(413, f"body larger than {settings.max_upload_bytes} bytes; "
                                 "split the batch")
    body = await _bounded_body(request, settings.max_upload_bytes)
    connector = request.headers.get("x-chiso-connector")
    prov = Provenance(source.name, "push", connector=connector)
    scope = Scope(units=source.units, known_units=_known_units(rt))
    outcome = await run_in_threadpool(ingest_body, rt.engine, contract, body, content_type,
                                      prov, scope, settings)
    return _outcome_response(outcome)


@router.get("/api/v1/feeds", tags=["intake"], response_model=list[Contract])
def list_feeds(rt: Rt) -> list[dict[str, Any]]:
    """The data contracts (SPEC §3), as the contract files hold them."""
    return [c.model_dump(mode="json") for c in rt.catalog.feeds.values()]


@router.get("/api/v1/feeds/{feed}", tags=["intake"], response_model=Contract)
def feed_contract(feed: str, rt: Rt) -> dict[str, Any]:
    try:
        return rt.catalog.contract(feed).model_dump(mode="json")
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc


@router.get("/api/v1/intake/batches", tags=["intake"], response_model=list[Batch])
def list_batches(
    rt: Rt, feed: str | None = None, source: str | None = None,
    status: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
    unit: str | None = None,
) -> list[dict[str, Any]]:
    """Recent batches with their provenance and, for refused ones, every problem; ``unit``:
    the files uploaded for that unit only (a unit-scoped steward always gets its own)."""
    query = select(intake_batches).order_by(intake_batches.c.id.desc()).limit(limit)
    if unit:
        query = query.where(intake_batches.c.unit == unit)
    if feed:
        query = query.where(intake_batches.c.feed == feed)
    if source:
        query = query.where(intake_batches.c.source == source)
    if status:
        query = query.where(intake_batches.c.status == status)
    with rt.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows]


@router.get("/api/v1/intake/raw/{sha256}", tags=["intake"], response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "the payload as it was received"}})
def raw_payload(sha256: str, rt: Rt, request: Request) -> Response:
    """A raw payload exactly as archived (identifiers pseudonymised unless the operator keeps
    them): what a source sent, accepted or refused, for inspection. The read is audited with
    the pseudonyms of the people it concerns (they see it on ``/my-data``)."""
    with rt.engine.connect() as conn:
        row = conn.execute(select(intake_raw.c.media_type).where(
            intake_raw.c.sha256 == sha256)).first()
        content = read_raw(conn, sha256)
        subjects = payload_subjects(conn, rt.catalog.feeds, sha256, content)
    record_subjects(request, subjects, target=f"raw:{sha256[:64]}")
    if row is not None and row.media_type.endswith(NOT_KEPT):
        raise HTTPException(410, "only the hash and size of this payload were kept: it was "
                                 "refused before it could be read, so its personal data could "
                                 "not be pseudonymised; ask the sender for the file")
    if row is None or content is None:
        raise HTTPException(404, f"no raw payload {sha256}")
    media = row.media_type.split(";")[0]
    return Response(content, media_type=media if "/" in media else "application/octet-stream",
                    headers={"X-Chiso-Archive": quote(row.media_type, safe=" ;=/,+-._%")})


@router.get("/api/v1/data-quality", tags=["intake"], response_model=DataQuality)
def data_quality(
    rt: Rt, unit: str | None = None, feed: str | None = None,
    period: Annotated[str, Query(pattern="^(day|month)$")] = "month",
    start: str | None = None, end: str | None = None,
) -> dict[str, Any]:
    """Completeness, timeliness and outliers per unit and feed (plan 131, section V.3)."""
    feeds = [feed] if feed else list(rt.catalog.feeds)
    for f in feeds:
        if f not in rt.catalog.feeds:
            raise HTTPException(404, f"unknown feed {f!r}")
    if unit and unit not in rt.catalog.units.units:
        raise HTTPException(404, f"unknown unit {unit!r}")
    try:
        return quality.report(rt.engine, [rt.catalog.feeds[f] for f in feeds], unit, period,
                              start, end)
    except quality.RangeError as exc:
        raise HTTPException(422, str(exc)) from exc
