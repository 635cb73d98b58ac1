"""Run Airflow with casslink's configuration: env for the CLI, ``db migrate``, ``standalone``.

Traps handled (see shared/spec/airflow-stack.md §1.3): standalone spawns ``airflow`` from PATH,
so the venv's bin goes first; a non-8080 port needs ``[api] base_url`` and the execution API
URL; standalone stops only on SIGINT, so it runs in its own session with SIGINT restored and is
stopped by signalling its whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from casslink.secrets import airflow_secrets
from casslink.settings import Settings


def airflow_env(settings: Settings, port: int = 8080, base: dict | None = None) -> dict[str, str]:
    """Environment under which ``airflow`` sees casslink's config, DAGs and secrets."""
    env = dict(os.environ if base is None else base)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    secrets = airflow_secrets(settings)
    url = f"http://127.0.0.1:{port}"
    env.update({
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW_CONFIG": str(settings.airflow_cfg),
        "CASSLINK_HOME": str(settings.home),
        "CASSLINK_REPO": str(settings.repo_root),
        "CASSLINK_DB_URL": settings.db_url,
        "CASSLINK_AIRFLOW_URL": url,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__CORE__FERNET_KEY": secrets["fernet_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": secrets["api_secret_key"],
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.repo_root),
                                                    env.get("PYTHONPATH", "")])),
    })
    return env


def run_airflow_cli(settings: Settings, args: list[str], port: int = 8080,
                    check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    env = airflow_env(settings, port)
    return subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], env=env,
                          check=check, capture_output=capture, text=True)


def migrate(settings: Settings, port: int = 8080) -> None:
    settings.ensure_dirs()
    run_airflow_cli(settings, ["db", "migrate"], port, capture=True)


def health(url: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def is_healthy(report: dict | None) -> bool:
    if not report:
        return False
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((report.get(p) or {}).get("status") == "healthy" for p in parts)


class AirflowStandalone:
    """``airflow standalone`` as a child process group that can be stopped cleanly."""

    def __init__(self, settings: Settings, port: int = 8080) -> None:
        self.settings, self.port = settings, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = settings.logs_dir / "airflow-standalone.log"

    def start(self) -> None:
        env = airflow_env(self.settings, self.port)
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"], env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        log.close()

    def wait_healthy(self, timeout: float = 180.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                return False
            if is_healthy(health(self.url)):
                return True
            time.sleep(1.0)
        return False

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every process of the stack.

        SIGTERM to each component while standalone is alive (clean in ~3 s), then SIGINT to
        standalone itself, then SIGTERM and SIGKILL to whatever is left of the process group.
        """
        if not self.proc:
            return
        import psutil

        pgid = self.proc.pid
        try:
            components = psutil.Process(pgid).children(recursive=False)
        except psutil.NoSuchProcess:
            components = []
        for child in components:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.terminate()
        psutil.wait_procs(components, timeout=timeout)
        for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if _wait_group_gone(pgid, wait):
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):  # reap our direct child if it exited
            os.waitpid(-pgid, os.WNOHANG)
        time.sleep(0.2)
    return False
