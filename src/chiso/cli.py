"""The ``chiso`` command line. Each sub-command reads like the docs: ``chiso catalog stats``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chiso.access import cli as access_cli
from chiso.catalog.errors import CatalogError
from chiso.catalog.loader import Catalog, load_catalog
from chiso.config import SettingsError, check_settings, get_settings
from chiso.exports import cli as exports_cli
from chiso.intake import cli as intake_cli
from chiso.measurement import cli as measurement_cli
from chiso.outlook import cli as outlook_cli
from chiso.reports import cli as reports_cli
from chiso.scoring import cli as scoring_cli

app = typer.Typer(help="chiso: Hanoi's digital-transformation measurement system.",
                  no_args_is_help=True)
catalog_app = typer.Typer(help="The plan catalog: plans, targets, tasks.", no_args_is_help=True)
units_app = typer.Typer(help="The unit registry: agencies, communes, groups.",
                        no_args_is_help=True)
db_app = typer.Typer(help="The database: create or upgrade its schema.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(units_app, name="units")
app.add_typer(db_app, name="db")


intake_cli.register(app)
measurement_cli.register(app)
access_cli.register(app)
scoring_cli.register(app)
outlook_cli.register(app)
reports_cli.register(app)
exports_cli.register(app)

out = Console()
err = Console(stderr=True, soft_wrap=True)  # errors are read whole, never wrapped



@app.callback()
def _root() -> None:
    """chiso: Hanoi's digital-transformation measurement system."""
    from chiso.context import command_opener
    from chiso.runtime import open_runtime_for_command

    # Every command checks the environment's settings first: a mistake is one line, not a
    # traceback from deep inside whichever room first reads the setting.
    try:
        check_settings(get_settings())
    except SettingsError as exc:
        err.print(f"[red]Settings:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    command_opener.set(open_runtime_for_command)  # what the rooms' sub-commands open


DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Catalog data folder (default: the built-in one)")
]


def _catalog(data_dir: Path | None) -> Catalog:
    try:
        return load_catalog(data_dir or get_settings().data_dir)
    except CatalogError as exc:
        err.print(f"[red]Catalog error:[/red] {exc}")
        raise typer.Exit(1) from exc


@catalog_app.command("stats")
def catalog_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """Count each plan's target rows, targets, tasks, appendix task rows and source notes."""
    stats = _catalog(data_dir).stats()
    if as_json:
        typer.echo(json.dumps(stats, ensure_ascii=False, indent=2))
        return
    keys = ["target_rows", "targets", "tasks", "appendix_task_rows", "notes"]
    table = Table("plan", *keys)
    for number, counts in stats.items():
        table.add_row(number, *(str(counts.get(k, "")) for k in keys))
    out.print(table)


@catalog_app.command("check")
def catalog_check(
    seeds: Annotated[
        Path | None,
        typer.Option(help="Also prove every verbatim field is on its cited seed line(s)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Validate every catalog file; exit non-zero naming the file, item and field of a problem."""
    catalog = _catalog(data_dir)
    from chiso.catalog.loader import deadline_errors, unresolved_errors

    problems = unresolved_errors(catalog)
    for problem in problems:
        err.print(f"[red]Unresolved:[/red] {problem}")
    deadlines = deadline_errors(catalog)
    for problem in deadlines:
        err.print(f"[red]Deadline:[/red] {problem}")
    if problems or deadlines:
        raise typer.Exit(1)
    if seeds is not None:
        from chiso.catalog.fidelity import check_fidelity

        mismatches = check_fidelity(catalog, seeds)
        for m in mismatches:
            err.print(f"[red]Not faithful:[/red] {m}")
        if mismatches:
            raise typer.Exit(1)
    total = sum(len(e.targets) + len(e.tasks) for e in catalog.plans.values())
    out.print(f"Catalog {catalog.digest}: {len(catalog.plans)} plans, {total} items, "
              f"{len(catalog.units.units)} units, {len(catalog.units.groups)} groups: OK")


@catalog_app.command("schema")
def catalog_schema(
    directory: Annotated[Path, typer.Argument(help="Where to write the JSON Schema files")],
) -> None:
    """Write the JSON Schema of every catalog file kind (for editors and reviewers)."""
    from chiso.catalog.models import PlanFile, TargetsFile, TasksFile
    from chiso.units.models import Group, Unit

    directory.mkdir(parents=True, exist_ok=True)
    models: dict[str, type[BaseModel]] = {
        "plan": PlanFile, "targets": TargetsFile, "tasks": TasksFile, "unit": Unit, "group": Group,
    }
    for name, model in models.items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2),
                        encoding="utf-8")
        out.print(f"wrote {path}")


@units_app.command("find")
def units_find(
    query: Annotated[str, typer.Argument(help="A name as a person types it: 'ha dong'")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    limit: int = 10,
    data_dir: DataDir = None,
) -> None:
    """Find units and groups by name, ignoring tone marks, case and 'Phường', 'Xã', 'Sở'."""
    matches = _catalog(data_dir).units.find(query, limit=limit)
    if as_json:
        typer.echo(json.dumps([{"code": m.code, "name": m.name, "kind": m.kind, "score": m.score}
                               for m in matches], ensure_ascii=False, indent=2))
    else:
        table = Table("code", "name", "kind")
        for m in matches:
            table.add_row(m.code, m.name, m.kind)
        out.print(table)
    if not matches:
        raise typer.Exit(1)


@units_app.command("list")
def units_list(
    kind: Annotated[
        str | None, typer.Option(help="Only this kind (commune, department, …)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """List units, optionally of one kind."""
    registry = _catalog(data_dir).units
    table = Table("code", "name", "kind")
    for unit in registry.units.values():
        if kind is None or unit.kind.value == kind:
            table.add_row(unit.code, unit.name, unit.kind.value)
    out.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema, then write the catalog into the database."""
    from chiso.runtime import open_runtime_for_command
    from chiso.store import migrate

    rt = open_runtime_for_command()
    out.print(f"Database {rt.engine.url.render_as_string(hide_password=True)} at revision "
              f"{migrate.current(rt.engine)}; catalog {rt.catalog.digest} loaded.")
    rt.engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes (PostgreSQL only beyond 1; docs/scaling.md)")] = 1,
) -> None:
    """Start the web app and API in this process, or in ``workers`` server processes
    (granian) sharing one port, the schema upgraded and the catalog written in once before."""
    from granian import Granian
    from granian.constants import Interfaces

    from chiso.background import WorkProcess
    from chiso.context import Runtime
    from chiso.runtime import open_runtime_for_command, require_own_keys
    from chiso.store.db import unreachable

    try:
        require_own_keys(get_settings())  # before anything is opened or written
    except SettingsError as exc:
        err.print(f"[red]Settings:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    _catalog(None)  # a broken catalog file stops here with one clear line, not a traceback
    settings = get_settings()
    problem = unreachable(settings.database_url)
    if problem:
        err.print(f"[red]Database:[/red] {escape(problem)}")
        raise typer.Exit(2)
    shared = settings.database_url.startswith("postgresql")  # several processes may share it
    if workers > 1 and not shared:
        err.print("[red]Serve:[/red] SQLite serves one process; use --workers 1, or "
                  "PostgreSQL (CHISO_DATABASE_URL=postgresql+psycopg://…) for more")
        raise typer.Exit(2)
    out.print(f"chiso on http://{host}:{port}/  ({workers} serving process"
              f"{'es' if workers > 1 else ''}{' and a work process' if shared else ''}"
              f"; API: http://{host}:{port}/api/v1/openapi.json)", soft_wrap=True)
    work: WorkProcess | None = None
    opened: Runtime | None = None
    if shared:
        # The background work in a process of its own (chiso.background); the serving
        # processes answer requests only.
        opened = open_runtime_for_command()  # migrate and load once: nobody races
        os.environ["CHISO_BACKGROUND"] = "0"
        get_settings.cache_clear()
        work = WorkProcess()
        work.start()
    try:
        if workers == 1:  # one serving process: the app in this one, nothing to supervise
            import uvicorn

            from chiso.runtime import create_app

            uvicorn.run(create_app(get_settings(), runtime=opened), host=host, port=port,
                        log_level="info", access_log=False)  # as granian's: the audit log
            # records what was written, and a line per read costs every read
            return
        if opened is not None:
            opened.engine.dispose()  # each of granian's processes opens its own
        Granian("chiso.runtime:worker_app", factory=True, interface=Interfaces.ASGI,
                address=host, port=port, workers=workers, respawn_failed_workers=True,
                log_access=False).serve()
    finally:
        if work is not None:
            work.stop()


@app.command()
def work(
    parent: Annotated[int | None, typer.Option(
        help="Stop when this process (the server that started this one) is gone")] = None,
) -> None:
    """Run the background work (the single-run work and the outbox's delivery) without
    serving requests, at a lower CPU priority, until stopped. ``chiso serve`` on PostgreSQL
    starts one beside its serving processes; more than one, on several machines, share the
    work through PostgreSQL's locks."""
    import logging

    from chiso.access.settings import AccessSettings
    from chiso.background import serve_work
    from chiso.runtime import open_runtime_for_command

    settings = get_settings()
    logging.basicConfig(level=logging.WARNING, format="chiso work: %(levelname)s %(name)s: "
                        "%(message)s")
    logging.getLogger("chiso").setLevel(logging.INFO)  # what it holds, what it did
    os.nice(settings.work_nice)  # a report being written yields the CPU to requests
    rt = open_runtime_for_command()
    code = 0
    try:
        serve_work(rt, AccessSettings(), parent=parent)
    except Exception:
        logging.getLogger("chiso").exception("the work process failed")
        code = 1
    finally:
        rt.engine.dispose()
        logging.shutdown()
        os._exit(code)  # without waiting for a report or an alert run still in its thread
