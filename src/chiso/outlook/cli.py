"""``chiso alerts run``: raise, deliver and escalate alerts (docs/outlook.md, "Alerts")."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

alerts_app = typer.Typer(help="Early-warning alerts: raise, deliver, escalate.",
                         no_args_is_help=True)


@alerts_app.command("run")
def alerts_run(today: Annotated[str | None, typer.Option(
        help="The day to run as (YYYY-MM-DD; default: today)")] = None) -> None:
    """Compute outlooks and task warnings per owning unit; send new alerts, escalate stale."""
    from chiso.context import command_runtime
    from chiso.measurement.periods import today_vn
    from chiso.outlook.alerts import run_alerts

    rt = command_runtime()
    day = date.fromisoformat(today) if today else today_vn()
    typer.echo(json.dumps(run_alerts(rt.engine, rt.settings, day), ensure_ascii=False))
    rt.engine.dispose()


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
