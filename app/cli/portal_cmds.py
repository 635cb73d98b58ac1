"""``casslink portal`` (the participant portal and REST API) and ``casslink users token``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import typer

from casslink.app.cli.database import opened
from casslink.settings import get_settings


def portal(
    host: str = typer.Option("127.0.0.1", "--host", help="Bind address."),
    port: int = typer.Option(8000, "--port", help="Port."),
    workers: int = typer.Option(1, "--workers", min=1,
                                help="uvicorn worker processes (each a full portal on its own "
                                     "SO_REUSEPORT socket)."),
):
    """Serve the participant portal and REST API (/api/v1, docs at /api/docs) under uvicorn.
    Sign in with a gateway login and password. Stops on Ctrl-C or SIGTERM."""
    import uvicorn

    from casslink.db.engine import upgrade
    from casslink.portal.app import create_app
    from casslink.portal.rendering import compile_templates

    s = get_settings().ensure_dirs()
    upgrade(s.db_url)
    typer.echo(f"portal         http://{host}:{port}/  (API docs /api/docs)", err=False)
    options = {"host": host, "port": port, "log_level": "warning", "access_log": False,
               "server_header": False}
    if workers > 1:
        from casslink.portal import serve

        del options["host"], options["port"]
        raise typer.Exit(serve.serve(host, port, workers, options))
    else:
        compile_templates()
        uvicorn.run(create_app(s), **options)


def users_token(
    login: str = typer.Argument(..., help="The user the token acts as."),
    scope: list[str] = typer.Option(["view"], "--scope",
                                    help="A right the token carries (repeat): view, upload, "
                                         "dispute, finance, admin."),
    name: str = typer.Option("cli", "--name", help="A name to recognise the token by."),
):
    """Print a new personal API token for LOGIN (shown once; only its hash is kept). Send it
    as ``Authorization: Bearer <token>`` to /api/v1."""
    from sqlalchemy import select

    from casslink import access
    from casslink.db.engine import session_scope
    from casslink.db.models import User
    from casslink.login_policy import login_or_none

    with opened() as (_, engine), session_scope(engine) as s:
        user = s.scalars(select(User).where(User.login == login_or_none(login))).first()
        if user is None or user.disabled:
            typer.echo(f"error: no active user {login!r}", err=True)
            raise typer.Exit(1)
        try:
            token = access.issue_token(s, user, scope, name)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        access.audit(s, "cli", "token.create", user.login,
                     {"name": name, "scopes": sorted(set(scope))}, user.company_id)
    typer.echo(token)


def start_portal(s, port: int, timeout: float = 60.0) -> subprocess.Popen:
    """``casslink portal`` as a child process of ``casslink run`` on 127.0.0.1:``port``,
    logging to logs/portal.log; returns once it answers."""
    env = dict(os.environ, CASSLINK_HOME=str(s.home), CASSLINK_DB_URL=s.db_url,
               CASSLINK_AIRFLOW_URL=s.airflow_url)
    log = open(s.logs_dir / "portal.log", "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen([str(Path(sys.executable).parent / "casslink"), "portal",
                             "--port", str(port)], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise typer.Exit(f"the portal did not start (see {s.logs_dir / 'portal.log'})")
