"""The FastAPI application: the API, the pages and the static assets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from chiso import __version__
from chiso.access import audit
from chiso.access.guard import AccessGuard
from chiso.access.oidc import OidcClient
from chiso.access.settings import AccessSettings, OidcSettings
from chiso.config import Settings
from chiso.context import Runtime
from chiso.dashboard.board import Board
from chiso.scoring.follow import follow
from chiso.web import (
    access_web,
    api,
    dashboard_web,
    decisions_web,
    indicator_web,
    intake_api,
    map_web,
    measurement_api,
    opendata_api,
    pages,
    rankings_web,
    records_api,
    render,
    scoring_api,
)

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
        sealer = asyncio.create_task(_seal_periodically(app))
        scorer = (asyncio.create_task(follow(rt.engine, rt.catalog, rt.hub,
                                             settings.scores_debounce))
                  if settings.scores_follow else None)
        app.state.board = Board(rt.engine, rt.catalog, rt.hub)
        app.state.board_follows = settings.dashboard_follow
        tiles = None
        if settings.dashboard_follow:
            # Every tile once before the first request, so no reader waits for the board.
            await asyncio.to_thread(app.state.board.refresh)
            tiles = asyncio.create_task(app.state.board.follow())
        yield
        sealer.cancel()
        for task in (scorer, tiles):
            if task is not None:
                task.cancel()
        if owned:
            rt.engine.dispose()

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
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_exception_handler(StarletteHTTPException, render.http_error)
    app.include_router(intake_api.router)
    app.include_router(measurement_api.router)
    app.include_router(records_api.router)
    app.include_router(scoring_api.router)
    app.include_router(access_web.router)
    for room in (dashboard_web, map_web, rankings_web, indicator_web, decisions_web,
                 opendata_api):
        app.include_router(room.router)
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
                       refuse=access_web.refusal,
                       max_form_bytes=app.state.access_settings.max_form_bytes)
    return app


async def _seal_periodically(app: FastAPI) -> None:
    """Sign a checkpoint of the audit log every ``checkpoint_seconds`` (docs/access.md)."""
    settings: AccessSettings = app.state.access_settings
    if not settings.checkpoint_seconds:
        return
    while True:
        await asyncio.sleep(settings.checkpoint_seconds)
        try:
            await run_in_threadpool(audit.checkpoint, app.state.runtime.engine,
                                    settings.audit_key_file, settings.audit_checkpoint_file)
        except Exception:  # a full disk must not stop the app; verify will show the gap
            log.exception("audit checkpoint failed")
