"""The FastAPI application: the API, the pages and the static assets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from chiso import __version__, background
from chiso.access import audit
from chiso.access.guard import AccessGuard
from chiso.access.oidc import OidcClient
from chiso.access.settings import AccessSettings, OidcSettings
from chiso.access.throttle import SignInThrottle
from chiso.config import Settings
from chiso.context import Runtime
from chiso.dashboard.board import Board
from chiso.web import api, busy, pages, render
from chiso.web.headers import SecurityHeaders
from chiso.web.pages.access import refusal

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def build_app(settings: Settings, open_runtime: Callable[[], Runtime], *, owned: bool,
              access_settings: AccessSettings | None = None,
              oidc_settings: OidcSettings | None = None) -> FastAPI:
    """Build the app; ``open_runtime`` gives its runtime at start (``chiso.runtime.create_app``
    wires it). ``owned``: the app disposes of the runtime's engine at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = open_runtime()
        app.state.runtime = rt
        audit.install_write_hook(rt.engine)  # every write a request commits is audited
        # Counted in the database: every process sharing it counts the same attempts.
        app.state.signin_throttle = SignInThrottle(app.state.access_settings.signin_rate,
                                                   rt.engine)
        await asyncio.to_thread(rt.start)  # the shared change stream's listener (PostgreSQL)
        # The background work, when this process is where it runs (chiso.background).
        work = (asyncio.create_task(background.run(rt, app.state.access_settings, settings))
                if settings.background else None)
        app.state.board = Board(rt.engine, rt.catalog, rt.hub)
        app.state.board_follows = settings.dashboard_follow
        tiles = None
        if settings.dashboard_follow:
            # Every tile once before the first request, so no reader waits for the board.
            await asyncio.to_thread(app.state.board.refresh)
            tiles = asyncio.create_task(app.state.board.follow())
        yield
        for task in (work, tiles):
            if task is not None:
                task.cancel()
        if work is not None:
            await asyncio.gather(work, return_exceptions=True)
        await asyncio.to_thread(rt.stop)
        if owned:
            rt.engine.dispose()
            if rt.reader is not None:
                rt.reader.dispose()

    app = FastAPI(
        title="chiso",
        version=__version__,
        description="Đo lường, giám sát, chấm điểm chuyển đổi số thành phố Hà Nội. "
        "Measures, monitors and scores Hanoi's digital transformation.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the stock docs page loads assets from a CDN; networks here are closed
        redoc_url=None,
        lifespan=lifespan,
    )
    app.openapi = _documented(app.openapi)  # type: ignore[method-assign]
    for router in (*api.ROUTERS, *pages.ROUTERS):
        app.include_router(router)
    app.add_exception_handler(StarletteHTTPException, render.http_error)
    app.add_exception_handler(RequestValidationError, render.invalid_request)
    app.add_exception_handler(OperationalError, busy.database_busy)
    app.add_exception_handler(PoolTimeoutError, busy.database_busy)
    app.state.templates = render.templates()  # one environment per app
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The one gate: every request is authenticated and authorised against chiso.access.policy.
    app.state.access_settings = access_settings or AccessSettings()
    sso = oidc_settings or OidcSettings()
    app.state.oidc = OidcClient(sso) if sso.enabled else None  # single sign-on, when set
    # Pages, style sheets, scripts and JSON travel compressed (event streams are left alone).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)  # zlib's default:
    # level 9 (Starlette's) costs about twice the time for a few per cent of the size
    app.add_middleware(AccessGuard, engine_of=lambda a: a.state.runtime.engine,
                       refuse=refusal,
                       max_form_bytes=app.state.access_settings.max_form_bytes)
    # Outermost, so the guard's refusals carry the headers too.
    embed = settings.emc_embed()
    app.state.emc_embed = embed  # the EMC monitoring code on public pages (render.py)
    app.add_middleware(SecurityHeaders, form_targets=_origins(sso.issuer),
                       script_origins=_origins(embed[0] if embed else None))
    return app


def _documented(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document as the answers are: a 422 carries either FastAPI's list of field
    errors or chiso's own one-line explanation (``{"detail": "'x' is not a period; …"}``)."""

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI caches it; the change below is idempotent
        found = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        detail = found.get("properties", {}).get("detail") if found else None
        if detail is not None and "anyOf" not in detail:
            found["properties"]["detail"] = {
                "title": "Detail", "anyOf": [{k: v for k, v in detail.items() if k != "title"},
                                             {"type": "string"}]}
        return schema

    return openapi


def _origins(url: str | None) -> list[str]:
    """The origin of a URL (``https://host:port``), as a CSP source; none for no URL."""
    if not url:
        return []
    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []
