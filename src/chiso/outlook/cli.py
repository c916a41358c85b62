"""``chiso alerts run``: raise, deliver and escalate alerts (docs/outlook.md, "Alerts");
``chiso milestones show|set``: the yearly milestones of a running-total target."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

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


milestones_app = typer.Typer(
    help="Yearly milestones of a running-total target (operator settings; linear by default).",
    no_args_is_help=True)


@milestones_app.command("show")
def milestones_show(plan: str, target: str) -> None:
    """Every year's milestone, saying whether the operator set it or it is the linear default."""
    from chiso.context import command_runtime
    from chiso.outlook.milestones import milestones
    from chiso.store.catalog_sync import plan_key

    rt = command_runtime()
    t, b = _target(rt.catalog, plan, target)
    with rt.engine.connect() as conn:
        rows = [m.as_dict() for m in milestones(conn, plan_key(plan), t, b)]
    typer.echo(json.dumps(rows, ensure_ascii=False))


@milestones_app.command("set")
def milestones_set(plan: str, target: str, values: Annotated[list[str], typer.Argument(
        help="YEAR=VALUE, or YEAR=linear to go back to the linear default")],
        actor: Annotated[str, typer.Option(help="Who decides (kept in the audit log)")]) -> None:
    """Set yearly milestones (the deadline's year is the target itself)."""
    from datetime import UTC, datetime

    from chiso.access.audit import append
    from chiso.context import command_runtime
    from chiso.outlook.milestones import MilestoneError, set_milestones
    from chiso.store.catalog_sync import plan_key

    rt = command_runtime()
    t, b = _target(rt.catalog, plan, target)
    parsed: dict[int, float | None] = {}
    for item in values:
        year, _, value = item.partition("=")
        try:
            parsed[int(year)] = None if value.strip() == "linear" else float(value)
        except ValueError:
            raise typer.BadParameter(f"{item!r}: write YEAR=VALUE (2027=48000) or "
                                     "YEAR=linear") from None
    try:
        with rt.engine.begin() as conn:
            set_milestones(conn, plan_key(plan), t, b, parsed, actor, datetime.now(UTC))
            append(conn, actor=actor, roles="operator", action="milestones.set", result="ok",
                   target=f"{plan}:{target}",
                   detail={str(k): v for k, v in parsed.items()})
    except MilestoneError as exc:
        typer.echo(f"Không lưu được / not saved: {exc}", err=True)
        raise typer.Exit(2) from None
    milestones_show(plan, target)


def _target(catalog: Any, plan: str, target_id: str) -> tuple[Any, Any]:
    entry = catalog.plans.get(plan)
    found = [t for t in entry.targets if t.id == target_id] if entry else []
    pb = catalog.measurement.plans.get(plan) if catalog.measurement else None
    binding = pb.bindings.get(target_id) if pb else None
    if not found or binding is None:
        typer.echo(f"No bound target {target_id} in plan {plan} (e.g. 232/KH-UBND T1)", err=True)
        raise typer.Exit(2)
    return found[0], binding


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(milestones_app, name="milestones")
