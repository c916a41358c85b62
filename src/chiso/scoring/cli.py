"""``chiso scores compute``: score and rank every scored unit for a period, and store them."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

out = Console()
err = Console(stderr=True, soft_wrap=True)
app = typer.Typer(help="Scores and rankings (docs/scoring.md).", no_args_is_help=True)


@app.command("compute")
def compute(
    method: Annotated[list[str] | None, typer.Option(
        "--method", "-m", help="Only this method (repeatable); default: every one")] = None,
    period: Annotated[list[str] | None, typer.Option(
        "--period", "-p", help="2026-03, 2026-Q1, 2026-YTD, … (repeatable); default: this "
                               "month, this quarter and the year to date")] = None,
) -> None:
    """Score every scored unit (departments, agencies, communes) by each method for each
    period from the stored values, rank them per kind, and store scores with their history."""
    from chiso.context import command_runtime
    from chiso.measurement.periods import PeriodError, parse_period, today_vn
    from chiso.scoring.follow import current_periods
    from chiso.scoring.live import compute as run
    from chiso.scoring.live import method_for, scored_units

    rt = command_runtime()
    methods = rt.catalog.methods
    if methods is None:
        err.print("[red]The catalog has no scoring methods.[/red]")
        raise typer.Exit(1)
    today = today_vn()
    codes = method or sorted(methods.versions)
    unknown = [c for c in codes if c not in methods.versions]
    if unknown:
        err.print(f"[red]Unknown method(s):[/red] {', '.join(unknown)}")
        raise typer.Exit(1)
    periods = period or current_periods(today)
    try:
        jobs = [(c, p, method_for(rt.catalog, c, parse_period(p, today), today))
                for c in codes for p in periods]
    except (PeriodError, KeyError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    total = sum(len(scored_units(rt.catalog, k)) for _, _, m in jobs for k in m.kinds)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=out) as bar:
        task = bar.add_task("scores", total=total)
        for code, p, _ in jobs:
            def tick(unit: str, c: str = code, p: str = p) -> None:
                bar.update(task, advance=1, description=f"{c} {p} {unit}")

            got = run(rt.engine, rt.catalog, code, p, today, progress=tick)
            out.print(f"{got['method']} {got['version']} {got['period']}: "
                      f"{got['units']} units scored and ranked")
    out.print(f"Done in {time.perf_counter() - t0:.1f} s.")
    rt.engine.dispose()


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="scores")
