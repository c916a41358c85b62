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


def _t(value: object) -> str:
    return "" if value is None else str(value)[:19]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="outbox")
