"""Column mappings over HTTP: how one source's files name a feed's fields, per unit
(``chiso.intake.mappings``). Saving makes a new version (201); a bad mapping is a 422 naming
the heading or field; proposals for headings a contract does not list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from chiso.access.guard import principal
from chiso.catalog.feeds import Contract
from chiso.context import Runtime
from chiso.intake import mappings
from chiso.intake.proposals import propose
from chiso.web.deps import Rt

router = APIRouter()

SOURCE = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Source = Annotated[str, Query(pattern=SOURCE, description="the system the files come from")]


class MappingIn(BaseModel):
    """A new version: every heading of the source's files that a field reads."""

    source: str = Field("upload", pattern=SOURCE)
    columns: dict[str, str] = Field(description="heading as the files write it -> field",
                                    max_length=mappings.MAX_COLUMNS)


class MappingOut(BaseModel):
    id: int
    feed: str
    unit: str
    source: str
    version: int
    columns: dict[str, str]
    created_at: datetime
    created_by: str


class HeadingsIn(BaseModel):
    headings: list[Annotated[str, Field(max_length=mappings.MAX_HEADING)]] = Field(
        max_length=mappings.MAX_COLUMNS)


class ProposalOut(BaseModel):
    heading: str
    field: str | None = Field(description="the likely field; null when none is alike enough")
    score: int = Field(ge=0, le=100)


def _out(m: mappings.Mapping) -> MappingOut:
    return MappingOut(id=m.id, feed=m.feed, unit=m.unit, source=m.source, version=m.version,
                      columns=m.columns, created_at=m.created_at, created_by=m.created_by)


def _contract(rt: Runtime, feed: str) -> Contract:
    try:
        return rt.catalog.contract(feed)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc


def _unit(rt: Runtime, unit: str) -> str:
    if unit not in rt.catalog.units.units:
        raise HTTPException(404, f"unknown unit {unit!r}")
    return unit


@router.get("/api/v1/intake/mappings", tags=["intake"], response_model=list[MappingOut],
            responses={404: {}})
def list_mappings(rt: Rt, unit: str | None = None, feed: str | None = None) -> list[MappingOut]:
    """The latest version of every column mapping (a unit-scoped reader: its unit's)."""
    if unit is not None:
        _unit(rt, unit)
    if feed is not None:
        _contract(rt, feed)
    with rt.engine.connect() as conn:
        found = mappings.listing(conn, frozenset({unit}) if unit else None, feed)
    return [_out(m) for m in found]


@router.get("/api/v1/intake/mappings/{feed}/{unit}", tags=["intake"],
            response_model=MappingOut, responses={404: {}})
def read_mapping(feed: str, unit: str, rt: Rt, source: Source = "upload") -> MappingOut:
    """The version the next file of this feed, unit and source is read with."""
    _contract(rt, feed)
    with rt.engine.connect() as conn:
        found = mappings.latest(conn, feed, _unit(rt, unit), source)
    if found is None:
        raise HTTPException(404, f"no column mapping for {feed} / {unit} / {source}")
    return _out(found)


@router.get("/api/v1/intake/mappings/{feed}/{unit}/versions", tags=["intake"],
            response_model=list[MappingOut], responses={404: {}})
def mapping_versions(feed: str, unit: str, rt: Rt, source: Source = "upload"
                     ) -> list[MappingOut]:
    """Every saved version, newest first."""
    _contract(rt, feed)
    with rt.engine.connect() as conn:
        return [_out(m) for m in mappings.versions(conn, feed, _unit(rt, unit), source)]


@router.post("/api/v1/intake/mappings/{feed}/{unit}", tags=["intake"], status_code=201,
             response_model=MappingOut,
             responses={404: {}, 409: {}, 422: {"description": "the heading or field wrong"}})
async def save_mapping(feed: str, unit: str, body: MappingIn, request: Request, rt: Rt
                       ) -> MappingOut:
    """Save a new version (audited); later files of this source are read with it."""
    contract = _contract(rt, feed)
    _unit(rt, unit)
    who = principal(request)
    try:
        saved = await run_in_threadpool(
            lambda: mappings.save(rt.engine, contract, unit, body.source, body.columns,
                                  actor=who.actor, roles=",".join(sorted(who.roles)),
                                  ip=request.client.host if request.client else None))
    except mappings.MappingError as exc:
        raise HTTPException(422, str(exc)) from exc
    except mappings.MappingConflictError as exc:
        raise HTTPException(409, str(exc)) from exc
    return _out(saved)


@router.post("/api/v1/intake/proposals/{feed}", tags=["intake"],
             response_model=list[ProposalOut], responses={404: {}})
def mapping_proposals(feed: str, body: HeadingsIn, rt: Rt) -> list[ProposalOut]:
    """The likely field for each heading (tone marks, case, word order and abbreviations
    ignored); each field proposed once."""
    contract = _contract(rt, feed)
    return [ProposalOut(heading=p.heading, field=p.field, score=p.score)
            for p in propose(contract, body.headings)]
