"""``casslink db ...`` and ``casslink reference ...``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from casslink.app.cli.database import opened
from casslink.app.cli.text import counts_text
from casslink.db.engine import current_revision, upgrade
from casslink.reference import load_into_db
from casslink.settings import get_settings

db_app = typer.Typer(help="The project database (SQLite by default, CASSLINK_DB_URL to change).",
                     no_args_is_help=True)
reference_app = typer.Typer(help="Reference data: operations, calendars, airlines, agents.",
                            no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target alembic revision.")):
    """Create or migrate the project database to REVISION (idempotent)."""
    s = get_settings().ensure_dirs()
    upgrade(s.db_url, revision)
    typer.echo(f"database at revision {current_revision(s.db_url)}")


@db_app.command("current")
def db_current():
    """Print the database's current migration revision."""
    typer.echo(current_revision(get_settings().db_url) or "empty")


@reference_app.command("load")
def reference_load(
    directory: str = typer.Option("", help="Folder of reference CSVs "
                                  "(default: fixtures/reference)."),
):
    """Load (upsert) the reference world into the project database and publish every CASS
    calendar from its rules 18 months ahead (docs/calendars.md); migrates it first."""
    with opened() as (s, engine):
        folder = Path(directory) if directory else s.fixtures_dir / "reference"
        counts = load_into_db(engine, folder)
    typer.echo(counts_text(counts) + " loaded")


@reference_app.command("check")
def reference_check(as_json: bool = typer.Option(False, "--json")):
    """Check the installed reference world (project database, else the fixtures): agent check
    digits, calendar rules, contiguity and date order, and that every calendar is published
    at least 60 days ahead (exit 1 otherwise)."""
    from casslink.calendars import calendar_check

    s = get_settings()
    ref, problems, alerts = calendar_check(s)
    if as_json:
        typer.echo(json.dumps({"problems": problems, "alerts": alerts, "digest": ref.digest}))
    else:
        typer.echo("\n".join(problems + alerts) or "reference data is consistent")
    raise typer.Exit(1 if problems or alerts else 0)
