"""``chiso recompute`` and ``chiso values``: rebuild the day state; print an indicator's values."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

out = Console()
err = Console(stderr=True, soft_wrap=True)


def recompute(
    indicator: Annotated[list[str] | None, typer.Option(
        "--indicator", "-i", help="Only this indicator (repeatable); default: every one")] = None,
) -> None:
    """Rebuild every indicator's day state from the stored records (set-based SQL), the oracle
    of the incremental path. Safe while records arrive: each feed is rebuilt in one
    transaction."""
    from chiso.context import command_runtime
    from chiso.measurement.recompute import recompute as run

    rt = command_runtime()
    m = rt.catalog.measurement
    if m is None:
        err.print("[red]The catalog has no indicator definitions.[/red]")
        raise typer.Exit(1)
    unknown = [c for c in indicator or [] if c not in m.indicators]
    if unknown:
        err.print(f"[red]Unknown indicator(s):[/red] {', '.join(unknown)}")
        raise typer.Exit(1)
    total = len(indicator) if indicator else len(m.indicators)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=out) as bar:
        task = bar.add_task("recompute", total=total)
        done = run(rt.engine, m, indicator or None,
                   progress=lambda ind: bar.update(task, advance=1, description=ind.code))
    out.print(f"Recomputed {done} indicators in {time.perf_counter() - t0:.2f} s.")
    rt.engine.dispose()


def values(
    code: Annotated[str, typer.Argument(help="Indicator code, e.g. tthc.on_time_rate")],
    period: Annotated[str, typer.Option(help="2026-10, 2026-Q3, 2026-H1, 2026, 2026-YTD, …")],
    unit: Annotated[str | None, typer.Option(help="A unit or group code")] = None,
    level: Annotated[str | None, typer.Option(help="unit | units | city")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Print an indicator's values for a period, with as-of time and record count."""
    from chiso.context import command_runtime
    from chiso.measurement import answers
    from chiso.measurement import values as mv
    from chiso.measurement.periods import PeriodError

    rt = command_runtime()
    m = rt.catalog.measurement
    if m is None or code not in m.indicators:
        err.print(f"[red]Unknown indicator:[/red] {code}")
        raise typer.Exit(1)
    if level not in (None, "unit", "units", "city"):
        err.print("[red]--level is unit, units or city[/red]")
        raise typer.Exit(1)
    try:
        members = answers.members(rt, unit)
    except answers.MeasurementError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    try:
        with rt.engine.connect() as conn:
            vals = mv.values(conn, m, code, period, unit, level, members)  # type: ignore[arg-type]
    except PeriodError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps([v.as_dict() for v in vals], ensure_ascii=False, indent=2))
        return
    table = Table("unit", "period", "value", "numerator", "denominator", "records", "as of")
    for v in vals:
        table.add_row(v.unit or "(city)", v.period,
                      "—" if v.value is None else f"{v.value:.4g}",
                      "" if v.numerator is None else f"{v.numerator:g}",
                      "" if v.denominator is None else f"{v.denominator:g}",
                      str(v.records), v.as_of.isoformat() if v.as_of else "")
    out.print(table)
    rt.engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("recompute")(recompute)
    app.command("values")(values)
