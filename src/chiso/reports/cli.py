"""``chiso reports build``: write a report's files on demand and print their paths."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

out = Console()
err = Console(stderr=True, soft_wrap=True)
app = typer.Typer(help="Periodic reports (docs/reports.md).", no_args_is_help=True)


@app.command("build")
def build_command(
    kind: Annotated[str, typer.Option("--kind", "-k", help="report kind, e.g. monthly")],
    period: Annotated[str, typer.Option(
        "--period", "-p", help="e.g. 2026-11, 2026-Q4, 2026-H1, 2026-9M, 2026")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="folder to write into")],
    unit: Annotated[str, typer.Option(
        "--unit", "-u", help="'city', a unit code (chiso units find NAME) or 'all'")] = "city",
    issued: Annotated[str | None, typer.Option(
        "--date", help="the report's date, YYYY-MM-DD (default: today in Hanoi)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="vi or en")] = "vi",
    cut_off: Annotated[str | None, typer.Option(
        "--cut-off", help="read the records received up to this time, e.g. "
                          "2026-12-20T00:00 (Hanoi time unless an offset is given); default: "
                          "the report's own cut-off, the start of its due day, or now "
                          "before then")] = None,
) -> None:
    """Build report KIND for PERIOD and UNIT from the data up to the period's last day, as
    received up to the cut-off, and print the paths of the files written; with --unit all,
    the city and every unit that issues the report, with a progress bar. The same --cut-off
    gives the same figures and content hash whatever arrived later."""
    from datetime import date, datetime

    from chiso.context import command_runtime
    from chiso.measurement.periods import VN, today_vn
    from chiso.reports.build import build, issuing_units
    from chiso.reports.content import ReportError
    from chiso.reports.wording import Locale

    if lang not in ("vi", "en"):
        err.print(f"[red]--lang {lang!r}: write vi or en[/red]")
        raise typer.Exit(1)
    locale: Locale = "vi" if lang == "vi" else "en"
    try:
        day = date.fromisoformat(issued) if issued else today_vn()
    except ValueError as exc:
        err.print(f"[red]--date {issued!r}: write the day as YYYY-MM-DD[/red]")
        raise typer.Exit(1) from exc
    cut = None
    if cut_off is not None:
        try:
            cut = datetime.fromisoformat(cut_off)
        except ValueError as exc:
            err.print(f"[red]--cut-off {cut_off!r}: write the time as YYYY-MM-DDTHH:MM "
                      "(optionally with an offset, e.g. +07:00)[/red]")
            raise typer.Exit(1) from exc
        cut = cut if cut.tzinfo else cut.replace(tzinfo=VN)
    rt = command_runtime()
    try:
        units = issuing_units(rt, kind) if unit == "all" else [unit]
        if len(units) == 1:
            got = build(rt, kind, period, units[0], out_dir, issued=day, locale=locale,
                        cut_off=cut)
            for path in got.paths:
                out.print(str(path), soft_wrap=True)
            return
        t0 = time.perf_counter()
        written: list[Path] = []
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("reports", total=len(units))
            for code in units:
                bar.update(task, description=f"{kind} {period} {code}")
                written += build(rt, kind, period, code, out_dir, issued=day,
                                 locale=locale, cut_off=cut).paths
                bar.advance(task)
        for path in written:
            out.print(str(path), soft_wrap=True)
        err.print(f"{len(units)} reports in {time.perf_counter() - t0:.1f} s.")
    except ReportError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        rt.engine.dispose()


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="reports")
