"""A real ``casslink gateway`` process for the gateway tests, its users, and OpenSSH's
``sftp`` client pointed at it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "casslink"
PASSWORD = "correct horse battery staple"
AGENT = "23156130152"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayProc:
    """``casslink gateway`` in its own process and data root."""

    def __init__(self, home: Path) -> None:
        self.home, self.port = home, free_port()
        self.env = dict(os.environ, CASSLINK_HOME=str(home))
        self.env.pop("CASSLINK_DB_URL", None)
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(EXE), *args], env=self.env, input=stdin, text=True,
                              capture_output=True, check=True)

    def start(self) -> str:
        """Start and wait for the first line; output goes to a file, never a pipe that could
        fill up and block the gateway."""
        self.log = self.home.parent / f"gateway-{self.port}.log"
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(EXE), "gateway", "--port", str(self.port),
                                          "--no-notify"], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode()
            if "\n" in text or self.proc.poll() is not None:
                break
            time.sleep(0.1)
        line = text.split("\n", 1)[0]
        assert "SFTP gateway" in line, text
        return line

    def stop(self, sig=signal.SIGTERM) -> None:
        """Signal the gateway and wait for it (psutil: robust even if another library in this
        process reaps children, as Airflow's in-process runs may)."""
        import psutil

        if self.proc is None:
            return
        try:
            p = psutil.Process(self.proc.pid)
            p.send_signal(sig)
            p.wait(timeout=20)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            p.kill()
            raise AssertionError("the gateway did not stop on SIGTERM within 20 s; its log: "
                                 + self.log.read_text()[-3000:]) from None

    def sftp(self, login: str, password: str | None = None, key: Path | None = None):
        t = paramiko.Transport(("127.0.0.1", self.port))
        if key is not None:
            t.connect(username=login, pkey=paramiko.Ed25519Key.from_private_key_file(str(key)))
        else:
            t.connect(username=login, password=password)
        return t, paramiko.SFTPClient.from_transport(t)

    def registry(self) -> list[dict]:
        out = self.cli("files", "list", "--json").stdout
        return json.loads(out)


def setup_users(gp: GatewayProc, keydir: Path) -> None:
    gp.cli("reference", "load")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keydir / "id")],
                   check=True)
    gp.cli("users", "add", "lh-ops", "--participant", "LH", "--key", str(keydir / "id.pub"))
    gp.cli("users", "add", "af-ops", "--participant", "057", "--password-stdin",
           stdin=PASSWORD + "\n")
    gp.cli("users", "add", "agent-1", "--participant", AGENT, "--role", "admin",
           "--password-stdin", stdin=PASSWORD + "\n")


@contextlib.contextmanager
def running_gateway(home: Path, keydir: Path) -> Iterator[GatewayProc]:
    """A started gateway on ``home`` with the test users (lh-ops's key in ``keydir``),
    stopped afterwards."""
    gp = GatewayProc(home)
    setup_users(gp, keydir)
    gp.keydir = keydir
    gp.start()
    try:
        yield gp
    finally:
        gp.stop()


def openssh_argv(gp: GatewayProc, batch: Path, *options: str) -> list[str]:
    """OpenSSH ``sftp`` in batch mode as ``lh-ops`` (key login) against ``gp``."""
    return ["sftp", *options, "-b", str(batch), "-i", str(gp.keydir / "id"),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-P", str(gp.port), "lh-ops@127.0.0.1"]


def openssh(gp: GatewayProc, commands: str) -> subprocess.CompletedProcess:
    batch = gp.keydir / "batch"
    batch.write_text(textwrap.dedent(commands))
    return subprocess.run(openssh_argv(gp, batch), capture_output=True, text=True, timeout=60)


def wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it holds; a gateway that never gets there fails the test."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.05)


def staged_files(gp: GatewayProc) -> list[Path]:
    staging = gp.home / "homes" / ".staging"
    return sorted(staging.iterdir()) if staging.exists() else []


def landing_blobs(gp: GatewayProc) -> set[str]:
    return {p.name for p in (gp.home / "landing").iterdir()} if (gp.home / "landing").exists() \
        else set()


def landed_rows(gp: GatewayProc, name: str) -> list[dict]:
    """The registry rows of files landed under ``name``, read straight from the database
    (faster than ``casslink files list`` in a loop)."""
    from sqlalchemy import create_engine, select

    from casslink.db.models import LandedFile

    engine = create_engine(f"sqlite:///{gp.home / 'casslink.db'}")
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(LandedFile.original_name.label("name"), LandedFile.sha256,
                       LandedFile.size, LandedFile.state, LandedFile.channel)
                .where(LandedFile.original_name == name).order_by(LandedFile.id))]
    finally:
        engine.dispose()


def audit_events(gp: GatewayProc) -> list[dict]:
    path = gp.home / "logs" / "gateway-audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
