"""``chiso outbox``: run the delivery worker, watch the backlog, requeue dead letters."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

out = Console()
err = Console(stderr=True, soft_wrap=True)
app = typer.Typer(help="The outbox: messages to the EMC and webhooks (docs/outbox.md).",
                  no_args_is_help=True)


@app.command("run")
def run_command(
    once: Annotated[bool, typer.Option(
        "--once", help="deliver what is due now, then stop")] = False,
) -> None:
    """Deliver the outbox until stopped (Ctrl-C, SIGTERM). Several may run: one delivers,
    the others stand by and take over when it stops."""
    from chiso.context import command_runtime
    from chiso.exports.channels import deliverer as make_deliverer
    from chiso.exports.delivery import delivery_lock, run

    rt = command_runtime()
    deliverer = make_deliverer(rt.settings, rt.engine)
    if once:
        with delivery_lock(rt.engine) as leader:
            if not leader:
                err.print("[yellow]another worker delivers now; nothing done[/yellow]")
                raise typer.Exit(3)
            deliverer.recover()
            total = 0
            while (n := deliverer.deliver_due()) > 0:
                total += n
            out.print(f"{total} attempts")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(deliverer, stop, poll=rt.settings.outbox_poll,
        on_lead=lambda: err.print("delivering (this process holds the outbox lock)"))


@app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Per channel: messages waiting, delivered, dead; the oldest waiting; the last success
    and the last failure."""
    import json
    from dataclasses import asdict

    from chiso.context import command_runtime
    from chiso.store import outbox

    rt = command_runtime()
    with rt.engine.connect() as conn:
        rows = outbox.status(conn)
    if as_json:
        out.print_json(json.dumps([asdict(r) for r in rows], default=str))
        return
    table = Table("channel", "waiting", "delivered", "dead", "oldest waiting",
                  "last success", "last failure", "last error")
    for r in rows:
        table.add_row(r.channel, str(r.pending), str(r.delivered), str(r.dead),
                      _t(r.oldest_pending), _t(r.last_success), _t(r.last_failure),
                      r.last_error or "")
    out.print(table)


@app.command("dead")
def dead_command() -> None:
    """The dead-lettered messages, newest first, with their last error."""
    from chiso.context import command_runtime
    from chiso.store import outbox

    rt = command_runtime()
    with rt.engine.connect() as conn:
        rows = outbox.messages(conn, state=outbox.DEAD)
    table = Table("id", "channel", "event", "key", "attempts", "last error")
    for m in rows:
        table.add_row(str(m.id), m.channel, m.event, m.idempotency_key, str(m.attempts),
                      m.last_error or "")
    out.print(table)


@app.command("log")
def log_command(
    channel: Annotated[str | None, typer.Option(
        "--channel", "-c", help="one channel (export:emc, webhook:3, mail:alerts, …)")] = None,
    limit: Annotated[int, typer.Option(help="newest messages shown", min=1, max=10_000)] = 200,
) -> None:
    """The delivery log: each message (oldest first) with its state and every attempt (when,
    outcome, HTTP status, error), one line per attempt; plain text, for a record."""
    from chiso.context import command_runtime
    from chiso.store import outbox

    rt = command_runtime()
    with rt.engine.connect() as conn:
        found = outbox.messages(conn, channel=channel, limit=limit)
        tries = outbox.attempts(conn, [m.id for m in found], limit=limit * 100)
    for m in reversed(found):
        typer.echo(f"message {m.id} {m.channel} {m.idempotency_key} -> {m.state}"
                   f" after {m.attempts} attempt(s)")
        for a in sorted((a for a in tries if a.message_id == m.id), key=lambda a: a.attempt):
            code = "" if a.status_code is None else f" HTTP {a.status_code}"
            detail = f" {a.detail}" if a.detail else ""
            typer.echo(f"  #{a.attempt} {_t(a.started_at)} {a.outcome}{code}{detail}")


@app.command("retry")
def retry_command(message_id: Annotated[int, typer.Argument(help="a dead message's id")]
                  ) -> None:
    """Put a dead-lettered message back in line."""
    from datetime import UTC, datetime

    from chiso.context import command_runtime
    from chiso.store import outbox

    rt = command_runtime()
    with rt.engine.begin() as conn:
        if not outbox.requeue(conn, message_id, datetime.now(UTC)):
            err.print(f"[red]message {message_id}: no such dead-lettered message[/red]")
            raise typer.Exit(1)
    out.print(f"message {message_id} waits again")


export_app = typer.Typer(help="Exporters to the Ministry's EMC and the like (docs/emc.md).",
                         no_args_is_help=True)


@export_app.command("run")
def export_run_command(
    period: Annotated[list[str] | None, typer.Option(
        "--period", "-p", help="a period (repeatable; default: this and last month, this "
        "quarter, this year)")] = None,
    exporter: Annotated[list[str] | None, typer.Option(
        "--exporter", "-e", help="a configured exporter (repeatable; default: all)")] = None,
    day: Annotated[str | None, typer.Option(
        "--date", help="today, YYYY-MM-DD (default: today in Hanoi)")] = None,
) -> None:
    """Write a new content version to the outbox for every (period, unit) whose figures
    changed since the last version; print what was written. The outbox worker sends them."""
    from datetime import date

    from chiso.context import command_runtime
    from chiso.exports.exporters import ExportError, export_all
    from chiso.measurement.periods import today_vn

    try:
        today = date.fromisoformat(day) if day else today_vn()
    except ValueError as exc:
        err.print(f"[red]--date {day!r}: write the day as YYYY-MM-DD[/red]")
        raise typer.Exit(1) from exc
    rt = command_runtime()
    try:
        sent = export_all(rt, today, period or None, exporter or None)
    except ExportError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    for s in sent:
        out.print(f"{s.exporter} {s.period} {s.unit} v{s.version} (message {s.message_id})")
    out.print(f"{len(sent)} new versions")


@export_app.command("status")
def export_status_command() -> None:
    """Each exporter's backlog, last success and failures, and its newest versions."""
    from chiso.context import command_runtime
    from chiso.exports.channels import EXPORT
    from chiso.exports.exporters import versions
    from chiso.store import outbox

    rt = command_runtime()
    with rt.engine.connect() as conn:
        rows = outbox.status(conn, EXPORT + ":")
        newest = versions(conn, limit=20)
    table = Table("exporter", "waiting", "delivered", "dead", "oldest waiting",
                  "last success", "last failure", "last error")
    for r in rows:
        table.add_row(r.channel.partition(":")[2], str(r.pending), str(r.delivered),
                      str(r.dead), _t(r.oldest_pending), _t(r.last_success),
                      _t(r.last_failure), r.last_error or "")
    out.print(table)
    recent = Table("exporter", "period", "unit", "version", "message", "state", "written")
    for v in newest:
        recent.add_row(v.exporter, v.period, v.unit, str(v.version), str(v.message_id),
                       v.state, _t(v.created_at))
    out.print(recent)


def _t(value: object) -> str:
    return "" if value is None else str(value)[:19]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="outbox")
    root.add_typer(export_app, name="export")
