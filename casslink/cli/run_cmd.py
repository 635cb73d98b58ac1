"""``casslink run`` (the system on loopback) and ``casslink airflow`` (Airflow CLI, our config)."""

from __future__ import annotations

import signal
import sys
import threading

import typer

from casslink.db.engine import make_engine, upgrade
from casslink.reference import load_into_db
from casslink.runtime.airflow import AirflowStandalone, migrate, run_airflow_cli
from casslink.secrets import airflow_admin_password
from casslink.settings import get_settings


def run(
    ui_port: int = typer.Option(8080, "--ui-port", help="Airflow UI/API port on 127.0.0.1."),
    startup_timeout: float = typer.Option(240.0, help="Seconds to wait for Airflow to be healthy."),
):
    """Start the system on loopback and stay up until Ctrl-C.

    Initialises what is missing (data root, project database, reference data, Airflow metadata
    database, per-install secrets), starts Airflow (api-server, scheduler, dag-processor,
    triggerer) with the project's DAG folder, prints the UI URL and the admin login, and on
    Ctrl-C stops every process it started.
    """
    s = get_settings().ensure_dirs()
    typer.echo(f"data root      {s.home}")
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    try:
        counts = load_into_db(engine, s.fixtures_dir / "reference")
    finally:
        engine.dispose()
    typer.echo("reference      " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    typer.echo("airflow        migrating metadata database ...")
    migrate(s, ui_port)
    stack = AirflowStandalone(s, ui_port)
    stop = threading.Event()

    def _on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    typer.echo(f"airflow        starting (log: {stack.log_path}) ...")
    stack.start()
    try:
        healthy = False
        # poll health in short slices so Ctrl-C during start-up is honoured quickly
        waited = 0.0
        while not stop.is_set() and waited < startup_timeout:
            if stack.wait_healthy(timeout=2.0):
                healthy = True
                break
            if stack.proc and stack.proc.poll() is not None:
                break
            waited += 2.0
        if not healthy:
            if not stop.is_set():
                typer.echo(f"airflow did not become healthy; see {stack.log_path}", err=True)
                raise typer.Exit(1)
            return
        password = airflow_admin_password(s) or "(see secrets/airflow-passwords.json)"
        typer.echo("")
        typer.echo(f"Airflow UI     {stack.url}   login: admin / {password}")
        typer.echo(f"DAGs folder    {s.dags_dir}")
        typer.echo("running; press Ctrl-C to stop")
        sys.stdout.flush()
        while not stop.wait(1.0):
            if stack.proc and stack.proc.poll() is not None:
                typer.echo("airflow exited unexpectedly", err=True)
                raise typer.Exit(1)
    finally:
        typer.echo("stopping ...")
        stack.stop()
        typer.echo("stopped")


def airflow(ctx: typer.Context):
    """Run Airflow's own CLI with casslink's configuration, e.g. ``casslink airflow dags list``."""
    s = get_settings().ensure_dirs()
    result = run_airflow_cli(s, list(ctx.args), check=False)
    raise typer.Exit(result.returncode)
