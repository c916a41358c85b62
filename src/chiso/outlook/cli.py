"""``chiso alerts run``: raise, deliver and escalate alerts (docs/outlook.md, "Alerts")."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from chiso.config import get_settings

alerts_app = typer.Typer(help="Early-warning alerts: raise, deliver, escalate.",
                         no_args_is_help=True)


@alerts_app.command("run")
def alerts_run(today: Annotated[str | None, typer.Option(
        help="The day to run as (YYYY-MM-DD; default: today)")] = None) -> None:
    """Compute outlooks and task warnings per owning unit; send new alerts, escalate stale."""
    from chiso.outlook.alerts import run_alerts
    from chiso.store.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    day = date.fromisoformat(today) if today else date.today()
    typer.echo(json.dumps(run_alerts(engine, settings, day), ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
