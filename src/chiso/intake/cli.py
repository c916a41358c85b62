"""Intake commands: ``chiso sources …``, ``chiso ingest FILE``, ``chiso pull …``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

sources_app = typer.Typer(help="Source systems and their tokens (push API).",
                          no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)

if TYPE_CHECKING:
    from chiso.context import Runtime


def _runtime() -> Runtime:
    from chiso.context import command_runtime

    return command_runtime()


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@sources_app.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="Source name, e.g. dvc-hanoi")],
    feed: Annotated[list[str], typer.Option("--feed", help="Feed it may send (repeatable)")],
    unit: Annotated[list[str] | None,
                    typer.Option("--unit", help="Unit it may send for (repeatable; none: any)")]
    = None,
) -> None:
    """Register a source (or rotate its token); prints the token once."""
    from chiso.intake.sources import add_source

    rt = _runtime()
    unknown = [f for f in feed if f not in rt.catalog.feeds]
    if unknown:
        err.print(f"[red]Unknown feed(s):[/red] {', '.join(unknown)}; known: "
                  f"{', '.join(sorted(rt.catalog.feeds))}")
        raise typer.Exit(2)
    bad = [u for u in unit or [] if u not in rt.catalog.units.units]
    if bad:
        err.print(f"[red]Unknown unit code(s):[/red] {', '.join(bad)}")
        raise typer.Exit(2)
    token = add_source(rt.engine, name, feed, unit or None, actor=_actor())
    err.print(f"Source {name!r}: feeds {', '.join(feed)}; units {', '.join(unit or ['any'])}. "
              "The token is shown once; store it in the source system:")
    typer.echo(token)


@sources_app.command("list")
def sources_list() -> None:
    """List active sources and their scope (never their tokens)."""
    from chiso.intake.sources import list_sources

    for s in list_sources(_runtime().engine):
        units = ", ".join(sorted(s.units)) if s.units else "any unit"
        out.print(f"{s.name}: {', '.join(sorted(s.feeds))} — {units}")


@sources_app.command("revoke")
def sources_revoke(name: str) -> None:
    """Revoke a source's token."""
    from chiso.intake.sources import revoke_source

    if not revoke_source(_runtime().engine, name, actor=_actor()):
        err.print(f"[red]No source named {name!r}[/red]")
        raise typer.Exit(1)
    out.print(f"Revoked {name}")


def ingest(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file", exists=True, dir_okay=False)],
    feed: Annotated[str, typer.Option(help="Feed, e.g. tthc.dossier")],
    unit: Annotated[str, typer.Option(help="Unit code the file is for")],
    evidence: Annotated[Path | None, typer.Option(
        help="Evidence file (required for stats.value typed by hand)", exists=True)] = None,
    encoding: Annotated[str | None, typer.Option(
        help="CSV encoding if not UTF-8 / Windows-1258 auto-detection")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    mapping_source: Annotated[str, typer.Option(
        "--mapping-source", help="Read headings with this source's saved column mapping "
        "for the unit and feed")] = "upload",
) -> None:
    """Ingest an agency file (whole or not at all); errors name spreadsheet row and column."""
    from chiso.intake.doors import ingest_file, upload_source
    from chiso.intake.settings import get_intake_settings

    rt = _runtime()
    try:
        contract = rt.catalog.contract(feed)
    except KeyError as exc:
        err.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from exc
    outcome, info = ingest_file(
        rt.engine, contract, file.read_bytes(), file.name, unit,
        frozenset(rt.catalog.units.units), get_intake_settings(),
        source=upload_source("cli", unit),
        evidence=evidence.read_bytes() if evidence else None,
        evidence_name=evidence.name if evidence else None, encoding=encoding,
        mapping_source=mapping_source)
    rt.engine.dispose()
    if as_json:
        typer.echo(json.dumps({**outcome.as_dict(), "read": info}, ensure_ascii=False,
                              indent=2))
    elif outcome.accepted:
        read_as = ", ".join(x for x in (info.get("kind"), info.get("encoding")) if x)
        out.print(f"Accepted {outcome.records} rows from {file.name} ({read_as}): "
                  f"{outcome.new_versions} new versions, {outcome.latest_changed} records "
                  f"updated. Batch {outcome.batch_id}.")
        if info.get("unmapped_columns"):
            out.print("Columns no contract field reads (not stored): "
                      + ", ".join(info["unmapped_columns"]))
        if info.get("layout_rows"):
            out.print("Rows laid out around the data, read as no record: " + "; ".join(
                f"{x['row']} ({x['kind']}: {x['text']})" for x in info["layout_rows"]))
    else:
        err.print(f"[red]Refused {file.name}[/red] (batch {outcome.batch_id}; nothing stored):")
        for p in outcome.problems:
            err.print(f"  {p}")
        for proposal in info.get("proposals") or []:
            if proposal["field"]:
                err.print(f"  column {proposal['column']} ({proposal['heading']}): probably "
                          f"field {proposal['field']!r}; save a column mapping to read it")
    if not outcome.accepted:
        raise typer.Exit(1)


def pull(
    name: Annotated[str, typer.Argument(help="Connector name (its cursor is kept under it)")],
    feed: Annotated[str, typer.Option(help="Feed the source serves")],
    source: Annotated[str, typer.Option(help="Source name recorded as provenance")],
    url: Annotated[str, typer.Option(help="Base URL of the source's API")],
    path: Annotated[str, typer.Option(help="Path of the records endpoint")] = "/api/records",
    paging: Annotated[str, typer.Option(help="cursor | updated_since")] = "cursor",
    page_size: Annotated[int, typer.Option(help="Records per page")] = 500,
    interval: Annotated[float, typer.Option(help="Seconds between runs")] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="Drain once and exit")] = False,
) -> None:
    """Pull a source's API on a schedule (or once), resuming from the stored cursor."""
    import asyncio
    import signal

    from chiso.intake.pull import Connector, PullRunner

    if paging not in ("cursor", "updated_since"):
        err.print("[red]--paging must be cursor or updated_since[/red]")
        raise typer.Exit(2)
    rt = _runtime()
    connector = Connector(name, feed, source, url, path, paging,  # type: ignore[arg-type]
                          page_size, interval)
    runner = PullRunner(rt.engine, connector, rt.catalog)
    if once:
        result = runner.run_once()
        out.print(f"{name}: {result.records} records in {result.pages} pages "
                  f"({result.new_versions} new versions)"
                  + (f"; stopped: {result.error}" if result.error else ""))
        raise typer.Exit(1 if result.error else 0)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runner.run_forever(stop)

    out.print(f"Pulling {url}{path} every {interval:g} s as {name!r}; Ctrl-C stops.")
    asyncio.run(main())


def register(app: typer.Typer) -> None:
    """Add the intake commands to the ``chiso`` command line."""
    app.add_typer(sources_app, name="sources")
    app.command("ingest")(ingest)
    app.command("pull")(pull)
