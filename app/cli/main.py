"""``casslink``: the operator's and participant's command line."""

from __future__ import annotations

import json

import typer

from casslink import __version__
from casslink.app.cli import (
    db_cmds,
    gateway_cmds,
    hot_cmds,
    ingest_cmds,
    invoices_cmds,
    portal_cmds,
    run_cmd,
    settle_cmds,
)
from casslink.app.cli.calendar_cmds import calendar_app
from casslink.app.cli.disputes_cmds import disputes_app
from casslink.app.cli.payments_cmds import agents_app, payments_app
from casslink.app.cli.tax_cmds import tax_app
from casslink.settings import get_settings

app = typer.Typer(
    name="casslink",
    help="Open New CASSLink: cargo accounts settlement as an Airflow pipeline around SFTP.\n\n"
         "Settings come from CASSLINK_* environment variables (CASSLINK_HOME is the data root, "
         "default ./var in the checkout).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cmds.db_app, name="db")
app.add_typer(db_cmds.reference_app, name="reference")
app.add_typer(calendar_app, name="calendar")
app.add_typer(disputes_app, name="disputes")
app.command("run")(run_cmd.run)
app.command("generate")(hot_cmds.generate)
app.command("inspect")(hot_cmds.inspect)
app.command("convert")(hot_cmds.convert)
app.command("validate")(ingest_cmds.validate)
app.command("ingest")(ingest_cmds.ingest)
app.add_typer(ingest_cmds.files_app, name="files")
app.command("settle")(settle_cmds.settle)
app.add_typer(settle_cmds.settlement_app, name="settlement")
app.command("trace")(settle_cmds.trace)
app.command("deliver")(settle_cmds.deliver)
app.command("gateway")(gateway_cmds.gateway)
app.add_typer(gateway_cmds.users_app, name="users")
app.add_typer(tax_app, name="tax")
app.command("portal")(portal_cmds.portal)
gateway_cmds.users_app.command("token")(portal_cmds.users_token)
app.add_typer(payments_app, name="payments")
app.add_typer(agents_app, name="agents")
app.add_typer(invoices_cmds.invoices_app, name="invoices")
app.command("airflow", context_settings={"allow_extra_args": True,
                                         "ignore_unknown_options": True})(run_cmd.airflow)


@app.command("settings")
def show_settings(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Show the effective settings (data root, database, gateway, Airflow URL)."""
    s = get_settings()
    data = {"version": __version__, "home": str(s.home), "db_url": _redact(s.db_url),
            "gateway": f"{s.gateway_host}:{s.gateway_port}", "airflow_url": s.airflow_url,
            "repo_root": str(s.repo_root)}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        for k, v in data.items():
            typer.echo(f"{k:12} {v}")


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


if __name__ == "__main__":  # pragma: no cover
    app()
