"""Bringing chiso up: load the catalog, open the database, migrate it, write the catalog in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from chiso.catalog.loader import Catalog, load_catalog
from chiso.config import Settings
from chiso.store import migrate
from chiso.store.catalog_sync import sync_catalog
from chiso.store.db import make_engine


@dataclass
class Runtime:
    """What every room shares while chiso runs."""

    settings: Settings
    engine: Engine
    catalog: Catalog


def open_runtime(settings: Settings) -> Runtime:
    """Load and validate the catalog first, so that a broken file stops chiso before any write."""
    catalog = load_catalog(settings.data_dir)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    sync_catalog(engine, catalog)
    return Runtime(settings, engine, catalog)


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
    except OperationalError as exc:  # the database went away, or never was there
        problem = unreachable(settings.database_url) or str(exc.orig).splitlines()[0]
        Console(stderr=True, soft_wrap=True).print(f"[red]Database:[/red] {escape(problem)}")
        raise typer.Exit(2) from exc
