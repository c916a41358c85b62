"""The FastAPI application: the API, the pages and the static assets."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from chiso import __version__
from chiso.access import audit
from chiso.access.guard import AccessGuard
from chiso.access.oidc import OidcClient
from chiso.access.settings import AccessSettings, OidcSettings
from chiso.access.throttle import SignInThrottle
from chiso.config import Settings
from chiso.context import Runtime
from chiso.dashboard.board import Board
from chiso.exports import changelog, channels, delivery, exporters
from chiso.intake import pull_sources
from chiso.intake.settings import get_intake_settings
from chiso.outlook.alerts import run_alerts
from chiso.reports import schedule as reports_schedule
from chiso.scoring.follow import follow
from chiso.store import changes
from chiso.store.leader import run_once
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
        # Single-run work: in one of the processes sharing the database at a time. Each
        # line: its lock's name, whether the settings turn it on, and the loop it runs.
        single: list[tuple[str, object, Callable[[], Awaitable[None]]]] = [
            ("change-stream-prune", True, lambda: _prune_periodically(rt)),
            ("audit-checkpoint", app.state.access_settings.checkpoint_seconds,
             lambda: _seal_periodically(app)),
            ("scores", settings.scores_follow,
             lambda: follow(rt.engine, rt.catalog, rt.hub, settings.scores_debounce)),
            ("reports-schedule", settings.reports_schedule,
             lambda: reports_schedule.loop(rt, settings.reports_schedule_seconds)),
            ("exporters", channels.exporters(rt.settings), lambda: _export_periodically(rt)),
            ("open-data-changelog", settings.changelog_interval,
             lambda: _publish_periodically(rt)),
            ("pull-sources", settings.pull_sources_run,
             lambda: pull_sources.serve(rt.engine, rt.catalog, get_intake_settings(),
                                        rt.clock.now, settings.pull_sources_poll)),
            ("alerts", settings.alerts_run, lambda: _alert_periodically(rt)),
        ]
        once = [asyncio.create_task(run_once(name, rt.engine, work, held=rt.running))
                for name, on, work in single if on]
        outbox_stop = threading.Event()
        if settings.outbox_deliver:
            # One thread; across processes the outbox lock lets one of them deliver.
            threading.Thread(target=delivery.run, name="chiso-outbox", daemon=True,
                             args=(channels.deliverer(rt.settings, rt.engine), outbox_stop),
                             kwargs={"poll": settings.outbox_poll}).start()
        app.state.board = Board(rt.engine, rt.catalog, rt.hub)
        app.state.board_follows = settings.dashboard_follow
        tiles = None
        if settings.dashboard_follow:
            # Every tile once before the first request, so no reader waits for the board.
            await asyncio.to_thread(app.state.board.refresh)
            tiles = asyncio.create_task(app.state.board.follow())
        yield
        outbox_stop.set()
        for task in (*once, tiles):
            if task is not None:
                task.cancel()
        await asyncio.gather(*once, return_exceptions=True)
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


async def _seal_periodically(app: FastAPI) -> None:
    """Sign a checkpoint of the audit log every ``checkpoint_seconds`` (docs/access.md)."""
    settings: AccessSettings = app.state.access_settings
    while True:
        await asyncio.sleep(settings.checkpoint_seconds)
        try:
            await run_in_threadpool(audit.checkpoint, app.state.runtime.engine,
                                    settings.audit_key_file, settings.audit_checkpoint_file)
        except Exception:  # a full disk must not stop the app; verify will show the gap
            log.exception("audit checkpoint failed")


async def _export_periodically(rt: Runtime) -> None:
    """Run the configured exporters now and every ``export_interval`` seconds: each run
    writes a new version of whatever changed since the last (docs/emc.md)."""
    while True:
        try:
            await asyncio.to_thread(exporters.export_all, rt, rt.clock.today())
        except Exception:  # the database went away: try again next time
            log.exception("export failed")
        await asyncio.sleep(rt.settings.export_interval)


async def _publish_periodically(rt: Runtime) -> None:
    """Publish the open datasets' figures for the periods that still move, now and every
    ``changelog_interval`` seconds, logging what changed since (docs/opendata.md)."""
    while True:
        try:
            await asyncio.to_thread(changelog.record_all, rt, rt.clock.today(),
                                    exporters.periods_to_watch(rt.clock.today()))
        except Exception:  # the database went away: try again next time
            log.exception("change log: publishing failed")
        await asyncio.sleep(rt.settings.changelog_interval)
async def _alert_periodically(rt: Runtime) -> None:
    """Raise, deliver and escalate alerts now and every ``alerts_interval`` seconds, as of the
    runtime's day (``chiso alerts run`` does one such run)."""
    while True:
        try:
            await asyncio.to_thread(run_alerts, rt.engine, rt.settings, rt.clock.today(),
                                    rt.catalog)
        except Exception:  # the database or a receiver away: next time
            log.exception("alerts: the run failed")
        await asyncio.sleep(rt.settings.alerts_interval)


async def _prune_periodically(rt: Runtime, every: float = 600.0) -> None:
    """Remove change events no listener needs any more (``chiso.store.changes.KEEP``)."""
    while True:
        try:
            await run_in_threadpool(changes.prune, rt.engine)
        except Exception:  # the database away for a moment: next time
            log.exception("pruning the change stream failed")
        await asyncio.sleep(every)
