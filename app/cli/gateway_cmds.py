"""``casslink gateway`` and ``casslink users ...``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from casslink.app.cli.database import opened
from casslink.app.cli.ingest_cmds import _participant
from casslink.app.cli.text import plural, table
from casslink.settings import get_settings

users_app = typer.Typer(help="SFTP accounts: users of an airline, agent or operator.",
                        no_args_is_help=True)


def gateway(
    host: str = typer.Option("", "--host", help="Bind address (default CASSLINK_GATEWAY_HOST, "
                             "127.0.0.1)."),
    port: int = typer.Option(0, "--port", help="Port (default CASSLINK_GATEWAY_PORT, 2222)."),
    no_notify: bool = typer.Option(False, "--no-notify",
                                   help="Do not trigger Airflow; the sweep picks files up."),
    no_watch: bool = typer.Option(False, "--no-watch",
                                  help="Do not watch the homes for files put there by other "
                                       "means."),
):
    """Serve SFTP: jailed homes (inbox/, sandbox/, outbox/), atomic landing, registry, audit
    log (logs/gateway-audit.log). Stops on Ctrl-C or SIGTERM."""
    import asyncio

    from casslink.sftp_gateway.service import serve

    s = get_settings()
    asyncio.run(serve(s, host or s.gateway_host, port or s.gateway_port,
                      notify=not no_notify, watch=not no_watch))


def _read_password(password_stdin: bool) -> str | None:
    if not password_stdin:
        return None
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise typer.BadParameter("no password on standard input", param_hint="--password-stdin")
    return value


def _fail(exc: Exception):
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1) from exc


@users_app.command("add")
def users_add(
    login: str = typer.Argument(..., help="Login name (a-z, 0-9, '.', '_', '-')."),
    participant: str = typer.Option(..., "--participant",
                                    help="Airline prefix or designator, agent code, or "
                                         "operator code."),
    role: str = typer.Option("user", "--role", help="admin (company admin) or user."),
    key: Path = typer.Option(None, "--key", exists=True, dir_okay=False,
                             help="OpenSSH public key file (authorized_keys lines)."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read a password (12+ characters) from stdin."),
):
    """Create an SFTP user of a participant with a key and/or a password (argon2-hashed)."""
    from casslink.sftp_gateway import accounts

    password = _read_password(password_stdin)
    if password is None and key is None:
        raise typer.BadParameter("give --key and/or --password-stdin")
    with opened() as (settings, engine):
        try:
            who = _participant(engine, participant)
            acc = accounts.add_user(engine, login, who, role, password,
                                    key.read_text() if key else "")
            from casslink.outbox import home_of

            home_of(settings, who.code)
        except accounts.AccountError as exc:
            _fail(exc)
    typer.echo(f"user {acc.login} ({acc.role}) of {who.kind} {who.code} {who.name} created")


@users_app.command("passwd")
def users_passwd(login: str = typer.Argument(...)):
    """Set a user's password, read from standard input (12+ characters)."""
    from casslink.sftp_gateway import accounts

    password = _read_password(True)
    with opened() as (_, engine):
        try:
            accounts.set_password(engine, login, password)
        except accounts.AccountError as exc:
            _fail(exc)
    typer.echo(f"password of {login} changed")


@users_app.command("add-key")
def users_add_key(login: str = typer.Argument(...),
                  key: Path = typer.Argument(..., exists=True, dir_okay=False)):
    """Add OpenSSH public keys (a .pub or authorized_keys file) to a user."""
    from casslink.sftp_gateway import accounts

    with opened() as (_, engine):
        try:
            n = accounts.add_key(engine, login, key.read_text())
        except accounts.AccountError as exc:
            _fail(exc)
    typer.echo(f"{login} has {plural(n, 'key')}")


@users_app.command("disable")
def users_disable(login: str = typer.Argument(...)):
    """Disable a user (no further logins; the account stays for the audit trail)."""
    from casslink.sftp_gateway import accounts

    with opened() as (_, engine):
        try:
            accounts.disable(engine, login)
        except accounts.AccountError as exc:
            _fail(exc)
    typer.echo(f"{login} disabled")


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """List the SFTP users (never their secrets)."""
    from casslink.sftp_gateway import accounts

    with opened() as (_, engine):
        rows = [{"login": a.login, "role": a.role, "participant": a.participant.code,
                 "kind": a.participant.kind, "disabled": a.disabled,
                 "password": a.has_password, "keys": a.key_count}
                for a in accounts.list_users(engine)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for line in table(
            ("LOGIN", "ROLE", "KIND", "PARTICIPANT", "PASSWORD", "KEYS", "STATUS"),
            ([r["login"], r["role"], r["kind"], r["participant"],
              "yes" if r["password"] else "no", r["keys"],
              "disabled" if r["disabled"] else "active"] for r in rows), right=(5,)):
        typer.echo(line)


@users_app.command("unlock")
def users_unlock(login: str = typer.Argument(None, help="The login to unlock."),
                 addr: str = typer.Option(None, "--addr", help="A client address to unlock.")):
    """Lift a login lockout (failed logins lock a login or an address for a while; the locks
    are kept in the database and survive a gateway restart)."""
    from casslink.login_policy import InvalidLogin, LoginPolicy
    from casslink.sftp_gateway.policy import Audit

    if login is None and addr is None:
        raise typer.BadParameter("give a LOGIN and/or --addr")
    with opened() as (settings, engine):
        try:
            keys = LoginPolicy(engine).unlock(login, addr)
        except InvalidLogin as exc:
            _fail(exc)
    Audit(settings.logs_dir / "gateway-audit.log")("unlock", keys=keys, by="cli")
    typer.echo(f"unlocked: {', '.join(keys)}" if keys else "nothing was locked")
