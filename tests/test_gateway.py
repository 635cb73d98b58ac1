"""The SFTP gateway with real clients (OpenSSH sftp, paramiko, asyncssh) against a real
server process: logins, the jail, atomic landing, interrupted uploads, concurrency, watcher."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import paramiko
import pytest
from sqlalchemy import select

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "casslink"
PASSWORD = "correct horse battery staple"
AGENT = "23156130152"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayProc:
    """``casslink gateway`` in its own process and data root."""

    def __init__(self, home: Path) -> None:
        self.home, self.port = home, _free_port()
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


def _setup(gp: GatewayProc, keydir: Path) -> None:
    gp.cli("reference", "load")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keydir / "id")],
                   check=True)
    gp.cli("users", "add", "lh-ops", "--participant", "LH", "--key", str(keydir / "id.pub"))
    gp.cli("users", "add", "af-ops", "--participant", "057", "--password-stdin",
           stdin=PASSWORD + "\n")
    gp.cli("users", "add", "agent-1", "--participant", AGENT, "--role", "admin",
           "--password-stdin", stdin=PASSWORD + "\n")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    home = tmp_path_factory.mktemp("gw") / "var"
    keydir = tmp_path_factory.mktemp("keys")
    gp = GatewayProc(home)
    _setup(gp, keydir)
    gp.keydir = keydir
    gp.start()
    yield gp
    gp.stop()


def _openssh(gp: GatewayProc, commands: str) -> subprocess.CompletedProcess:
    batch = gp.keydir / "batch"
    batch.write_text(textwrap.dedent(commands))
    return subprocess.run(["sftp", "-b", str(batch), "-i", str(gp.keydir / "id"),
                           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                           "-o", "BatchMode=yes", "-P", str(gp.port), "lh-ops@127.0.0.1"],
                          capture_output=True, text=True, timeout=60)


def test_openssh_key_login_upload_rename_download_and_refusals(gw, tmp_path):
    from casslink.outbox import deliver
    from casslink.settings import get_settings

    data = os.urandom(300_000)
    src = tmp_path / "020_DE_2026-11_01.hot"
    src.write_bytes(data)
    ack = b"ACK for you\r\n"
    deliver(get_settings().with_home(gw.home), "020", "report.ack", ack)
    out = _openssh(gw, f"""
        put {src} inbox/direct.hot
        put {src} inbox/viaTemp.hot.part
        rename inbox/viaTemp.hot.part inbox/viaTemp.hot
        ls -l inbox
        get outbox/report.ack {tmp_path}/report.ack
        -get inbox/direct.hot {tmp_path}/back.hot
        -put {src} outbox/evil.hot
        -rm outbox/report.ack
        -chmod 777 outbox/report.ack
        -mkdir inbox/sub
        -symlink /etc/passwd inbox/pw
        -rename outbox/report.ack inbox/report.ack
        """)
    assert out.returncode == 0, out.stderr
    err = out.stderr
    assert (tmp_path / "report.ack").read_bytes() == ack
    assert not (tmp_path / "back.hot").exists()
    assert err.count("Permission denied") >= 7, err
    rows = [r for r in gw.registry() if r["name"] in ("direct.hot", "viaTemp.hot")]
    assert sorted(r["name"] for r in rows) == ["direct.hot", "viaTemp.hot"]
    assert {r["sha256"] for r in rows} == {hashlib.sha256(data).hexdigest()}
    assert all(r["participant"] == "020" and r["state"] == "landed" and r["user"] == "lh-ops"
               for r in rows)
    assert not any(r["name"].endswith(".part") for r in gw.registry())
    blob = gw.home / "landing" / hashlib.sha256(data).hexdigest()
    assert blob.read_bytes() == data


def test_paramiko_password_login_sandbox_and_wrong_password(gw):
    t, s = gw.sftp("af-ops", PASSWORD)
    try:
        assert sorted(s.listdir("/")) == ["inbox", "outbox", "sandbox"]
        payload = b"sandbox test " * 1000
        s.putfo(io.BytesIO(payload), "/sandbox/try.hot")  # paramiko stats it afterwards
        assert s.stat("/sandbox/try.hot").st_size == len(payload)
    finally:
        t.close()
    row = next(r for r in gw.registry() if r["name"] == "try.hot")
    assert row["channel"] == "sandbox" and row["participant"] == "057"
    with pytest.raises(paramiko.AuthenticationException):
        gw.sftp("af-ops", "not the password")
    with pytest.raises(paramiko.AuthenticationException):
        gw.sftp("lh-ops", PASSWORD)  # key-only user
    audit = (gw.home / "logs" / "gateway-audit.log").read_text()
    assert "login_failed" in audit and PASSWORD not in audit and "not the password" not in audit


def test_participants_see_only_their_own_tree(gw):
    from casslink.outbox import deliver
    from casslink.settings import get_settings

    deliver(get_settings().with_home(gw.home), "057", "secret-of-af.ack", b"AF only")
    t, s = gw.sftp("agent-1", PASSWORD)
    try:
        assert s.listdir("/outbox") == []
        for path in ("/../057/outbox/secret-of-af.ack", "/outbox/../../057/outbox/"
                     "secret-of-af.ack", "../../057/outbox/secret-of-af.ack"):
            with pytest.raises(OSError):
                s.open(path).read()
    finally:
        t.close()


TRICKS = [
    ("listdir", "/etc"), ("listdir", "../../../057"), ("listdir", "/inbox/../../../etc"),
    ("listdir", "/outbox/sub"), ("read", "/../../etc/passwd"), ("read", "/etc/passwd"),
    ("read", "outbox/../../../etc/passwd"), ("read", "/outbox/.hidden"),
    ("read", "/outbox/link-to-passwd"), ("read", "/inbox/anything"),
    ("write", "/../escape.hot"), ("write", "/inbox/../../escape.hot"),
    ("write", "/inbox/sub/escape.hot"), ("write", "/escape.hot"),
    ("write", "/outbox/escape.hot"), ("write", "/inbox/..\\..\\escape.hot"),
    ("write", "/inbox/.hidden"), ("write", "/inbox/" + "a" * 300),
    ("append", "/outbox/victim.ack"), ("mkdir", "/inbox/dir"), ("rmdir", "/outbox"),
    ("remove", "/outbox/victim.ack"), ("chmod", "/outbox/victim.ack"),
    ("symlink", "/inbox/link"), ("rename", "/outbox/victim.ack"),
    ("posix_rename", "/outbox/victim.ack"), ("utime", "/outbox/victim.ack"),
]


def test_traversal_corpus_nothing_escapes(gw):
    from casslink.outbox import deliver
    from casslink.settings import get_settings

    s_ = get_settings().with_home(gw.home)
    victim = deliver(s_, AGENT, "victim.ack", b"keep me")
    (victim.parent / ".hidden").write_bytes(b"hidden")
    link = victim.parent / "link-to-passwd"
    if not link.exists():
        link.symlink_to("/etc/passwd")
    before = {p for p in gw.home.rglob("*")}
    t, s = gw.sftp("agent-1", PASSWORD)
    refused = 0
    try:
        assert sorted(s.listdir("../../..")) == ["inbox", "outbox", "sandbox"]  # the jail root
        assert s.normalize("../../../etc") == "/etc"  # a name, not a place: /etc is refused
        for op, path in TRICKS:
            try:
                if op == "listdir":
                    s.listdir(path)
                elif op == "read":
                    s.open(path, "r").read()
                elif op in ("write", "append"):
                    with s.open(path, "w" if op == "write" else "a") as fh:
                        fh.write(b"pwned")
                elif op == "mkdir":
                    s.mkdir(path)
                elif op == "rmdir":
                    s.rmdir(path)
                elif op == "remove":
                    s.remove(path)
                elif op == "chmod":
                    s.chmod(path, 0o777)
                elif op == "symlink":
                    s.symlink("/etc/passwd", path)
                elif op == "rename":
                    s.rename(path, "/inbox/stolen.ack")
                elif op == "posix_rename":
                    s.posix_rename(path, "/inbox/stolen.ack")
                elif op == "utime":
                    s.utime(path, (0, 0))
            except OSError:
                refused += 1
            else:
                pytest.fail(f"{op} {path} was allowed")
    finally:
        t.close()
    assert refused == len(TRICKS) >= 20
    assert victim.read_bytes() == b"keep me"
    created = {p for p in gw.home.rglob("*")} - before
    assert not [p for p in created if "escape" in p.name or "pwned" in p.name
                or p.name in ("dir", "link", "stolen.ack")]
    assert not (gw.home.parent / "escape.hot").exists()


def test_client_killed_mid_upload_lands_nothing(gw):
    script = textwrap.dedent(f"""
        import paramiko, sys, time
        t = paramiko.Transport(("127.0.0.1", {gw.port}))
        t.connect(username="af-ops", password={PASSWORD!r})
        s = paramiko.SFTPClient.from_transport(t)
        fh = s.open("/inbox/killed.hot", "w")
        fh.write(b"x" * 65536); fh.flush()
        print("started", flush=True)
        while True:
            fh.write(b"y" * 65536); fh.flush(); time.sleep(0.05)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 15
    staging = gw.home / "homes" / ".staging"
    while time.monotonic() < deadline and any(staging.iterdir()):
        time.sleep(0.2)
    assert not any(staging.iterdir())  # the session ended and discarded the partial upload
    assert not [r for r in gw.registry() if r["name"] == "killed.hot"]


def test_gateway_sigkilled_mid_upload_then_restart_is_consistent(tmp_path):
    gp = GatewayProc(tmp_path / "var")
    _setup(gp, tmp_path)
    gp.start()
    t, s = gp.sftp("af-ops", PASSWORD)
    fh = s.open("/inbox/half.hot", "w")
    fh.write(b"z" * 200_000)
    fh.flush()
    staging = gp.home / "homes" / ".staging"
    assert len(list(staging.iterdir())) == 1
    gp.stop(signal.SIGKILL)
    t.close()
    assert gp.registry() == []
    gp.start()  # recovery at start: leftover staging removed, nothing registered
    try:
        assert list(staging.iterdir()) == []
        assert gp.registry() == []
        t, s = gp.sftp("af-ops", PASSWORD)
        s.putfo(io.BytesIO(b"after restart"), "/inbox/ok.hot")
        t.close()
        assert [r["name"] for r in gp.registry()] == ["ok.hot"]
    finally:
        gp.stop()


def test_lockout_after_repeated_failures(tmp_path):
    gp = GatewayProc(tmp_path / "var")
    _setup(gp, tmp_path)
    gp.start()
    try:
        for _ in range(5):
            with pytest.raises(paramiko.AuthenticationException):
                gp.sftp("af-ops", "wrong wrong wrong")
        with pytest.raises(paramiko.AuthenticationException):
            gp.sftp("af-ops", PASSWORD)  # right password, but locked out now
        audit = [json.loads(x) for x in (gp.home / "logs" / "gateway-audit.log").read_text()
                 .splitlines()]
        assert {"user:af-ops", "addr:127.0.0.1"} <= {a.get("key") for a in audit
                                                      if a["event"] == "lockout"}
        assert any(a["event"] == "login_refused" and a.get("reason") == "locked out"
                   for a in audit)
    finally:
        gp.stop()


def test_fifty_concurrent_clients_ten_files_each(gw):
    import asyncssh

    async def client(i: int) -> list[str]:
        async with asyncssh.connect("127.0.0.1", gw.port, username="af-ops",
                                    password=PASSWORD, known_hosts=None) as conn, \
                conn.start_sftp_client() as sftp:
            digests = []
            for j in range(10):
                data = f"client {i} file {j} ".encode() * (50 + i + j)
                async with sftp.open(f"/inbox/c{i:02d}_{j}.hot.part", "wb") as fh:
                    await fh.write(data)
                await sftp.rename(f"/inbox/c{i:02d}_{j}.hot.part", f"/inbox/c{i:02d}_{j}.hot")
                digests.append(hashlib.sha256(data).hexdigest())
            return digests

    async def main():
        return await asyncio.gather(*(client(i) for i in range(50)))

    results = asyncio.run(main())
    expected = {f"c{i:02d}_{j}.hot": results[i][j] for i in range(50) for j in range(10)}
    rows = [r for r in gw.registry() if r["name"] in expected]
    assert len(rows) == 500
    assert {r["name"]: r["sha256"] for r in rows} == expected
    for r in rows:
        blob = gw.home / "landing" / r["sha256"]
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == r["sha256"]


def test_watcher_lands_files_put_by_other_means(tmp_path, repo):
    from casslink.db.engine import make_engine, session_scope, upgrade
    from casslink.db.models import LandedFile
    from casslink.reference import load_into_db
    from casslink.settings import get_settings
    from casslink.sftp_gateway.watcher import Watcher

    s = get_settings().with_home(tmp_path / "var").ensure_dirs()
    upgrade(s.db_url)
    engine = make_engine(s.db_url)
    load_into_db(engine, repo / "fixtures" / "reference")
    inbox = s.homes_dir / "020" / "inbox"
    inbox.mkdir(parents=True)
    w = Watcher(s, engine, settle_s=0.3)
    w.start()
    try:
        part = inbox / "drop.hot.part"
        with open(part, "wb") as fh:  # an OpenSSH server writing, then renaming
            fh.write(b"first half ")
            fh.flush()
            assert w.scan() == []  # temporary name: not landed
            fh.write(b"second half")
        part.rename(inbox / "drop.hot")
        landed = []
        deadline = time.monotonic() + 10
        while not landed and time.monotonic() < deadline:
            time.sleep(0.2)
            landed = w.scan()
        assert len(landed) == 1
        assert not (inbox / "drop.hot").exists()
        with session_scope(engine) as ss:
            row = ss.scalars(select(LandedFile)).one()
            assert (row.original_name, row.channel, row.size) == ("drop.hot", "inbox", 22)
            assert Path(row.stored_path).read_bytes() == b"first half second half"
    finally:
        w.stop()
        engine.dispose()
