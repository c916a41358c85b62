"""The FastAPI application: the API, the pages and the static assets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from chiso import __version__
from chiso.config import Settings, get_settings
from chiso.runtime import Runtime, open_runtime
from chiso.web import api, intake_api, measurement_api, pages

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. The runtime (catalog, database) is opened at start unless given."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or open_runtime(settings)
        app.state.runtime = rt
        yield
        if runtime is None:
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
    app.add_exception_handler(StarletteHTTPException, pages.http_error)
    app.include_router(intake_api.router)
    app.include_router(measurement_api.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
