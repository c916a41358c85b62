"""``chiso users …``, ``chiso audit …`` and ``chiso access policy``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from chiso.context import Runtime

users_app = typer.Typer(help="Users, their roles and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: verify, seal, search.", no_args_is_help=True)
access_app = typer.Typer(help="The access policy.", no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)
CLI_ACTOR = "cli"


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(access_app, name="access")


def _runtime() -> Runtime:
    from chiso.context import command_runtime

    return command_runtime()


def _audited(action: str, target: str, unit: str | None = None) -> object:
    """Commands write their own audit entry in the same transaction as the change."""
    import getpass

    from chiso.access import audit

    return audit.Context(actor=f"cli:{getpass.getuser()}", roles="operator", action=action,
                         ip=None, target=target, unit=unit)


def _run(action: str, target: str, unit: str | None, change: object) -> None:
    from chiso.access import audit
    from chiso.access.accounts import AccessError

    rt = _runtime()
    audit.install_write_hook(rt.engine)
    ctx = _audited(action, target, unit)
    token = audit.current.set(ctx)  # type: ignore[arg-type]
    try:
        with rt.engine.begin() as conn:
            change(conn)  # type: ignore[operator]
    except AccessError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        audit.current.reset(token)
        rt.engine.dispose()


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    display_name: Annotated[str | None, typer.Option("--name", help="Full name")] = None,
    password: Annotated[bool, typer.Option("--password/--no-password",
                                           help="Ask for a password (no: single sign-on)")]
    = True,
) -> None:
    """Add a local account (the password is asked for, never taken from the command line)."""
    from chiso.access import accounts

    secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True) \
        if password else None
    _run("users add", name, None,
         lambda conn: accounts.add_user(conn, name, display_name, secret))
    out.print(f"User {name} added.")


@users_app.command("grant")
def users_grant(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    role: Annotated[str, typer.Argument(help="operator, leader, unit_officer, data_steward, "
                                             "auditor or viewer")],
    unit: Annotated[str | None, typer.Option("--unit", help="Limit the role to one unit")]
    = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the role away")] = False,
) -> None:
    """Grant a role (city-wide, or for one unit with --unit); --revoke takes it away."""
    from chiso.access import accounts

    def change(conn: object) -> None:
        if revoke:
            accounts.revoke(conn, name, role, unit)  # type: ignore[arg-type]
        else:
            accounts.grant(conn, name, role, unit)  # type: ignore[arg-type]

    _run("users revoke" if revoke else "users grant", f"{name} {role}", unit, change)
    out.print(f"{'Revoked' if revoke else 'Granted'} {role}"
              f"{' for ' + unit if unit else ''} {'from' if revoke else 'to'} {name}.")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    label: Annotated[str, typer.Option(help="What the token is for")] = "script",
    days: Annotated[int, typer.Option(help="Valid for this many days")] = 365,
) -> None:
    """Issue an API token for scripts; printed once, stored hashed."""
    from chiso.access import accounts

    issued: list[str] = []
    _run("users token", f"{name} {label}", None,
         lambda conn: issued.append(accounts.issue_token(conn, name, label, days)))
    typer.echo(issued[0])


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again")] = False,
) -> None:
    """Disable an account: its sessions and API tokens stop working at once (--enable: allow
    it to sign in again; the old sessions and tokens stay revoked)."""
    from chiso.access import accounts

    _run("users enable" if enable else "users disable", name, None,
         lambda conn: (accounts.enable_user if enable else accounts.disable_user)(conn, name))
    out.print(f"User {name} {'enabled' if enable else 'disabled'}.")


@users_app.command("password")
def users_password(name: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """Set a new password (asked for); the user's sessions end."""
    from chiso.access import accounts

    secret = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    _run("users password", name, None,
         lambda conn: accounts.reset_password(conn, name, secret))
    out.print(f"Password of {name} set; their sessions ended.")


@users_app.command("list")
def users_list() -> None:
    from chiso.access import accounts

    rt = _runtime()
    with rt.engine.connect() as conn:
        for u in accounts.list_users(conn):
            grants = ", ".join(g.role + (f"@{g.unit}" if g.unit else "") for g in u["grants"])
            out.print(f"{u['name']}\t{u['display_name']}\t{grants}")
    rt.engine.dispose()


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the hash chain and every signed checkpoint; name the first bad entry."""
    from chiso.access import audit
    from chiso.access.settings import AccessSettings

    settings = AccessSettings()
    rt = _runtime()
    pub = audit.public_path(settings.audit_key_file)
    report = audit.verify(rt.engine, settings.audit_checkpoint_file,
                          audit.load_public_key(pub) if pub.exists() else None)
    rt.engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    elif report.ok:
        out.print(f"Audit log intact: {report.entries} entries, {report.checkpoints} signed "
                  "checkpoints verified.")
    else:
        err.print(f"[red]Audit log NOT intact[/red]: {report.problem}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the log's Merkle tree head now and append it to the checkpoint file."""
    from chiso.access import audit
    from chiso.access.settings import AccessSettings

    settings = AccessSettings()
    rt = _runtime()
    row = audit.checkpoint(rt.engine, settings.audit_key_file, settings.audit_checkpoint_file)
    rt.engine.dispose()
    out.print("Nothing new to seal." if row is None else
              f"Sealed {row['size']} entries: root {row['root']} → "
              f"{settings.audit_checkpoint_file}")


@access_app.command("policy")
def access_policy() -> None:
    """Print the policy table (the one in docs/access.md)."""
    from chiso.access.policy import markdown

    typer.echo(markdown(), nl=False)
