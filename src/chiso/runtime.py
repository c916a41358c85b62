"""Bringing chiso up, and the one place where its rooms are wired together.

:func:`open_runtime` loads and validates the catalog, opens and migrates the database, writes
the catalog in, creates the change hub and registers what later rooms need to do inside
earlier rooms' work: measurement's day state in every accepted intake batch, and the change
stream on the engine's commits. Nothing else registers anything: importing a module of chiso
has no side effect.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from chiso import stat_models
from chiso.catalog.loader import Catalog, load_catalog
from chiso.config import Settings, SettingsError
from chiso.context import Clock, Hub, Runtime
from chiso.exports import events
from chiso.intake import pipeline
from chiso.intake.settings import KEYLESS_ENVS, InsecureConfigurationError, IntakeSettings
from chiso.measurement import incremental, stream
from chiso.store import changes, migrate
from chiso.store.catalog_sync import sync_catalog
from chiso.store.db import is_sqlite, make_engine

if TYPE_CHECKING:
    from fastapi import FastAPI

    from chiso.access.settings import AccessSettings, OidcSettings

__all__ = ["Runtime", "create_app", "open_runtime", "open_runtime_for_command",
           "require_own_keys", "wire", "worker_app"]


def open_runtime(settings: Settings, *, catalog: Catalog | None = None) -> Runtime:
    """Load and validate the catalog first (unless given), so that a broken file stops chiso
    before any write; then open, migrate and fill the database and wire the rooms."""
    require_own_keys(settings)
    catalog = catalog or load_catalog(settings.data_dir)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    sync_catalog(engine, catalog)
    rt = wire(settings, engine, catalog)
    if settings.read_database_url:
        rt.reader = make_engine(settings.read_database_url)
    return rt


def require_own_keys(settings: Settings) -> None:
    """Refuse (:class:`SettingsError`, one line naming the setting) a deployment that would
    run on keys published in the repository or on none: the pseudonym key, and the webhook
    signing key when alerts go to a webhook. Only ``CHISO_ENV=demo`` or ``test`` may."""
    intake = IntakeSettings()
    try:
        intake.key()
    except InsecureConfigurationError as exc:
        raise SettingsError(str(exc)) from None
    if (settings.alert_webhook_url and not settings.alert_webhook_secret
            and intake.env not in KEYLESS_ENVS):
        raise SettingsError("CHISO_ALERT_WEBHOOK_SECRET is not set but CHISO_ALERT_WEBHOOK_URL "
                            "is: set it to a secret shared with the receiver (webhook bodies "
                            "are signed with it); only CHISO_ENV=demo or CHISO_ENV=test runs "
                            "without keys of its own")


def wire(settings: Settings, engine: Engine, catalog: Catalog) -> Runtime:
    """Register the rooms' hooks on an open, migrated database and return its runtime.

    On PostgreSQL, which several server processes may share, the change stream is the shared
    one (``chiso.store.changes``): batches write their changes into it, announcements made with
    ``Hub.announce`` go through it, and the runtime's listener service (started by a serving
    process, ``Runtime.start``) feeds every event to this process's hub. On SQLite (one
    process) the stream stays in the process."""
    rt = Runtime(settings, engine, catalog, Hub(), clock=Clock())
    shared = not is_sqlite(engine)
    if catalog.measurement is not None:
        pipeline.on_store(engine, incremental.batch_hook(catalog.measurement))
        # after measurement's hook, so it sees what the batch changed
        pipeline.on_store(engine, events.value_hook())
        if shared:
            stream.share(engine, catalog.measurement)
        else:
            stream.attach(engine, rt.hub, catalog.measurement)
    if shared:
        rt.hub.outbox = lambda items: changes.announce_now(engine, items)
        rt.services.append(lambda: _listen(engine, rt.hub))
    rt.services.append(_load_models)
    return rt


def _load_models() -> Callable[[], None]:
    """Load the statistical models in the background (``chiso.stat_models.load``), so that a
    serving process's first report or outlook does not wait for them; nothing to stop."""
    threading.Thread(target=stat_models.load, name="chiso-load-models", daemon=True).start()
    return lambda: None


def _listen(engine: Engine, hub: Hub) -> Callable[[], None]:
    """Start this process's listener on the shared change stream, feeding ``hub``; wait (a few
    seconds at most) until it listens, so that nothing committed after start is missed."""
    listener = changes.Listener(engine, hub.publish)
    listener.start()
    listener.listening.wait(10)
    return listener.stop


def open_runtime_for_command() -> Runtime:
    """The runtime a ``chiso`` command works in, from the environment's settings. A broken
    catalog file stops the command with one line naming file, item and field, not a traceback."""
    import typer
    from rich.console import Console
    from rich.markup import escape
    from sqlalchemy.exc import OperationalError

    from chiso.catalog.errors import CatalogError
    from chiso.config import get_settings
    from chiso.store.db import unreachable

    settings = get_settings()
    try:
        return open_runtime(settings)
    except CatalogError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]Catalog error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except SettingsError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]Settings:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except OperationalError as exc:  # the database went away, or never was there
        problem = unreachable(settings.database_url) or str(exc.orig).splitlines()[0]
        Console(stderr=True, soft_wrap=True).print(f"[red]Database:[/red] {escape(problem)}")
        raise typer.Exit(2) from exc


def create_app(settings: Settings | None = None, runtime: Runtime | None = None,
               access_settings: AccessSettings | None = None,
               oidc_settings: OidcSettings | None = None) -> FastAPI:
    """The web app over ``runtime``, or over a runtime it opens from ``settings`` at start
    (and closes at shutdown)."""
    from chiso.config import get_settings
    from chiso.web.app import build_app

    settings = settings or get_settings()
    if runtime is None:
        require_own_keys(settings)  # refuse now, not at the first request
    ready = settings
    opener: Callable[[], Runtime] = (
        (lambda: runtime) if runtime is not None else (lambda: open_runtime(ready)))
    return build_app(settings, opener, owned=runtime is None, access_settings=access_settings,
                     oidc_settings=oidc_settings)


def worker_app() -> FastAPI:
    """The app of one of ``chiso serve --workers N``'s processes. It stops (SIGTERM to itself,
    so it shuts down in order) when the process that started it is gone: a server killed
    outright leaves no worker behind serving on its own, holding single-run work."""
    import os

    from chiso.background import stop_with

    stop_with(os.getppid())
    return create_app()
