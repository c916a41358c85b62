"""Pull sources for operators (``chiso.intake.pull_sources``): add or change one, pause and
resume it, and see each one's last run, lag behind the source, errors and outages. A
credential's value goes in and never comes out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field

from chiso.access.guard import principal
from chiso.intake import pull_sources as ps
from chiso.intake.settings import InsecureConfigurationError, get_intake_settings
from chiso.web.deps import Conn, Rt

router = APIRouter(prefix="/api/v1/pull-sources", tags=["intake"])
Name = Annotated[str, Path(max_length=64, pattern=ps.NAME.pattern)]


class PullSourceIn(BaseModel):
    """A pull source's settings; ``credentials`` left out keeps those kept, ``{}`` removes
    them."""

    feed: str = Field(max_length=64)
    source: str = Field(max_length=64, description="source name kept as provenance")
    base_url: str = Field(max_length=2000)
    path: str = Field(default="/api/records", max_length=500)
    paging: ps.Paging = "cursor"
    page_size: int = Field(default=500, ge=1, le=ps.MAX_PAGE)
    interval_seconds: float = Field(default=60.0, ge=ps.MIN_INTERVAL, le=ps.MAX_INTERVAL)
    paused: bool = False
    credentials: dict[str, str] | None = Field(
        default=None, max_length=ps.MAX_CREDENTIALS,
        description="HTTP headers sent to the source (e.g. Authorization); kept sealed, "
        "never answered")


class PullSources(BaseModel):
    sources: list[ps.PullSource]


def _who(request: Request) -> str:
    return principal(request).name


@router.get("", response_model=PullSources)
def listing(rt: Rt, conn: Conn) -> PullSources:
    """Every pull source with its runs (credentials by header name only)."""
    return PullSources(sources=ps.listing(conn, rt.clock.now()))


@router.get("/{name}", response_model=ps.PullSource)
def one(name: Name, rt: Rt, conn: Conn) -> ps.PullSource:
    found = ps.one(conn, name, rt.clock.now())
    if found is None:
        raise HTTPException(404, f"pull source {name!r}: no such source")
    return found


@router.put("/{name}", response_model=ps.PullSource)
def put(name: Name, body: PullSourceIn, request: Request, rt: Rt) -> ps.PullSource:
    """Add or change a pull source; the running service pulls it on its schedule. 422 names
    the field at fault."""
    spec = ps.PullSourceSpec(**body.model_dump(exclude={"credentials"}))
    try:
        return ps.save(rt.engine, rt.catalog, get_intake_settings(), name, spec,
                       body.credentials, by=_who(request), now=rt.clock.now())
    except ps.PullSourceError as exc:
        raise HTTPException(422, str(exc)) from None
    except InsecureConfigurationError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/{name}/pause", response_model=ps.PullSource)
def pause(name: Name, request: Request, rt: Rt) -> ps.PullSource:
    """Stop pulling the source until it is resumed (its cursor is kept)."""
    return _paused(name, True, request, rt)


@router.post("/{name}/resume", response_model=ps.PullSource)
def resume(name: Name, request: Request, rt: Rt) -> ps.PullSource:
    return _paused(name, False, request, rt)


def _paused(name: str, paused: bool, request: Request, rt: Rt) -> ps.PullSource:
    found = ps.set_paused(rt.engine, name, paused, by=_who(request), now=rt.clock.now())
    if found is None:
        raise HTTPException(404, f"pull source {name!r}: no such source")
    return found
