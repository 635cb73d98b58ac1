"""``casslink run`` (the system on loopback) and ``casslink airflow`` (Airflow CLI, our config)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import typer

from casslink.app.cli import portal_cmds
from casslink.app.cli.text import counts_text
from casslink.app.runtime.airflow import AirflowStandalone, migrate, run_airflow_cli
from casslink.db.engine import engine_for, upgrade
from casslink.reference import load_into_db
from casslink.secrets import airflow_admin_password
from casslink.settings import get_settings


def run(
    ui_port: int = typer.Option(8080, "--ui-port", help="Airflow UI/API port on 127.0.0.1."),
    sftp_port: int = typer.Option(0, "--sftp-port", help="SFTP gateway port on 127.0.0.1 "
                                  "(default CASSLINK_GATEWAY_PORT, 2222)."),
    no_demo: bool = typer.Option(False, "--no-demo",
                                 help="Start the system without uploading demo data."),
    startup_timeout: float = typer.Option(240.0, help="Seconds to wait for Airflow to be healthy."),
    portal_port: int = typer.Option(8000, "--portal-port",
                                    help="Participant portal port on 127.0.0.1."),
):
    """Start the system on loopback and stay up until Ctrl-C.

    Initialises what is missing (data root, project database, reference data, Airflow metadata
    database, per-install secrets), starts the SFTP gateway and Airflow (api-server, scheduler,
    dag-processor, triggerer) with the project's DAG folder, and - unless --no-demo - uploads
    generated airline billing files through SFTP (one faulty, one to a sandbox), waits for the
    acknowledgements, settles the demo period and delivers its outputs. Prints the UI URL and
    login, how to connect by SFTP, and where outputs landed. Ctrl-C stops every process it
    started.
    """
    base = get_settings()
    sftp_port = sftp_port or base.gateway_port
    s = replace(base, airflow_url=f"http://127.0.0.1:{ui_port}",
                gateway_port=sftp_port).ensure_dirs()
    typer.echo(f"data root      {s.home}")
    upgrade(s.db_url)
    with engine_for(s.db_url) as engine:
        counts = load_into_db(engine, s.fixtures_dir / "reference")
    typer.echo("reference      " + counts_text(counts))
    typer.echo("airflow        migrating metadata database ...")
    migrate(s, ui_port)
    stack = AirflowStandalone(s, ui_port)
    stop = threading.Event()

    def _on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    gateway = _start_gateway(s, sftp_port)
    try:
        portal = portal_cmds.start_portal(s, portal_port)
    except BaseException:
        _stop_gateway(gateway)
        raise
    typer.echo(f"portal         http://127.0.0.1:{portal_port}/ (log: {s.logs_dir / 'portal.log'})")
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
        typer.echo(f"airflow        healthy at {stack.url}")
        demo = None
        if not no_demo and not stop.is_set():
            demo = _demo(s, sftp_port)
        typer.echo("")
        typer.echo(f"Airflow UI     {stack.url}   login: admin / {password}")
        typer.echo(f"SFTP gateway   sftp -P {sftp_port} <login>@127.0.0.1   "
                   f"(host key in {s.secrets_dir / 'ssh_host_ed25519_key'})")
        if demo:
            for u in demo["users"].values():
                typer.echo(f"  demo login   {u.login:<11} password {u.password:<18} "
                           f"({u.participant})")
            agent_home = s.homes_dir / demo["agent"] / "outbox"
            typer.echo(f"Outputs        agent {demo['agent']}: {agent_home}")
            typer.echo(f"               every participant: {s.homes_dir}/<code>/outbox")
        typer.echo(f"Portal         http://127.0.0.1:{portal_port}/   API docs: /api/docs")
        if demo:
            from casslink.portal.demo import ensure_portal_users

            with engine_for(s.db_url) as engine:
                for p in ensure_portal_users(s, engine):
                    typer.echo(f"  portal login {p.login:<13} password {p.password:<18} "
                               f"({p.what})")
        typer.echo(f"DAGs folder    {s.dags_dir}")
        typer.echo("running; press Ctrl-C to stop")
        sys.stdout.flush()
        while not stop.wait(1.0):
            if stack.proc and stack.proc.poll() is not None:
                typer.echo("airflow exited unexpectedly", err=True)
                raise typer.Exit(1)
            if gateway.poll() is not None:
                typer.echo("the SFTP gateway exited unexpectedly", err=True)
                raise typer.Exit(1)
            if portal.poll() is not None:
                typer.echo("the portal exited unexpectedly", err=True)
                raise typer.Exit(1)
    finally:
        typer.echo("stopping ...")
        _stop_gateway(gateway)
        _stop_gateway(portal)
        stack.stop()
        typer.echo("stopped")


def _start_gateway(s, port: int) -> subprocess.Popen:
    """``casslink gateway`` as a child process; its first line is the address and host key."""
    env = dict(os.environ, CASSLINK_HOME=str(s.home), CASSLINK_DB_URL=s.db_url,
               CASSLINK_AIRFLOW_URL=s.airflow_url)
    log_path = s.logs_dir / "gateway.log"
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child (never a pipe that fills up)
    start = log_path.stat().st_size
    proc = subprocess.Popen([str(Path(sys.executable).parent / "casslink"), "gateway",
                             "--port", str(port)], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    line = _first_line(log_path, start, proc)
    if "SFTP gateway" not in line:
        proc.kill()
        raise typer.Exit(f"the SFTP gateway did not start (see {log_path}): {line}")
    typer.echo(f"gateway        {line.removeprefix('SFTP gateway').strip()} (log: {log_path})")
    return proc


def _first_line(path: Path, offset: int, proc: subprocess.Popen, timeout: float = 60) -> str:
    """The first line a child wrote to its log after ``offset`` (or '' if it died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
        if "\n" in text:
            return text.split("\n", 1)[0].strip()
        if proc.poll() is not None:
            return text.strip()
        time.sleep(0.1)
    return ""


def _stop_gateway(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _demo(s, sftp_port: int) -> dict | None:
    from casslink.app import demo
    from casslink.reference import load_reference
    from casslink.sftp_gateway.notify import AirflowClient

    client = AirflowClient.for_install(s)
    with engine_for(s.db_url) as engine:
        try:
            return demo.run(s, engine, load_reference(s), sftp_port, client,
                            lambda text: (typer.echo(text), sys.stdout.flush()))
        except Exception as exc:  # the system stays up; the demo reports what failed
            typer.echo(f"demo           failed: {exc}", err=True)
            return None


def airflow(ctx: typer.Context):
    """Run Airflow's own CLI with casslink's configuration, e.g. ``casslink airflow dags list``."""
    s = get_settings().ensure_dirs()
    result = run_airflow_cli(s, list(ctx.args), check=False)
    raise typer.Exit(result.returncode)
