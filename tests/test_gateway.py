"""The SFTP gateway with real clients (OpenSSH sftp, paramiko, asyncssh) against a real
server process: logins, the jail, atomic landing, interrupted uploads, concurrency, watcher."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import paramiko
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.gateway_harness import AGENT, PASSWORD, landed_rows, running_gateway
from tests.gateway_harness import openssh as _openssh


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    with running_gateway(tmp_path_factory.mktemp("gw") / "var",
                         tmp_path_factory.mktemp("keys")) as gp:
        yield gp


def test_openssh_key_login_upload_rename_download_and_refusals(gw, tmp_path):
    from casslink.outbox import write_to_outbox
    from casslink.settings import get_settings

    data = os.urandom(300_000)
    src = tmp_path / "020_DE_2026-11_01.hot"
    src.write_bytes(data)
    ack = b"ACK for you\r\n"
    write_to_outbox(get_settings().with_home(gw.home), "020", "report.ack", ack)
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
    from casslink.outbox import write_to_outbox
    from casslink.settings import get_settings

    write_to_outbox(get_settings().with_home(gw.home), "057", "secret-of-af.ack", b"AF only")
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
    from casslink.outbox import write_to_outbox
    from casslink.settings import get_settings

    s_ = get_settings().with_home(gw.home)
    victim = write_to_outbox(s_, AGENT, "victim.ack", b"keep me")
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


def test_lockout_after_repeated_failures(tmp_path):
    with running_gateway(tmp_path / "var", tmp_path) as gp:
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


def test_a_write_that_would_leave_a_hole_is_refused_and_nothing_lands(gw):
    """One byte at offset 1 GiB would make a 1 GiB file of zeros: refused, upload failed."""
    blobs = {p.name for p in (gw.home / "landing").iterdir()}
    t, s = gw.sftp("af-ops", PASSWORD)
    try:
        fh = s.open("/inbox/sparse.hot", "w")
        fh.write(b"head")
        fh.flush()
        fh.seek(1 << 30)
        with pytest.raises(OSError, match="hole"):
            fh.write(b"x")
            fh.flush()
    finally:
        t.close()
    staging = gw.home / "homes" / ".staging"
    deadline = time.monotonic() + 60
    while any(staging.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(staging.iterdir())
    assert not [r for r in gw.registry() if r["name"] == "sparse.hot"]
    assert {p.name for p in (gw.home / "landing").iterdir()} == blobs


@contextlib.contextmanager
def _asyncssh_sftp(gw, login: str = "af-ops"):
    """An asyncssh SFTP client on its own event loop thread; ``run(coro)`` waits for one
    call (so a hypothesis test can drive it from the test's thread)."""
    import asyncssh

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    async def connect():
        conn = await asyncssh.connect("127.0.0.1", gw.port, username=login,
                                      password=PASSWORD, known_hosts=None)
        return conn, await conn.start_sftp_client()

    conn, sftp = run(connect())
    try:
        yield sftp, run
    finally:
        conn.close()
        run(conn.wait_closed())
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


WRITES = st.lists(st.tuples(st.integers(0, 3000), st.binary(min_size=1, max_size=700)),
                  min_size=1, max_size=8)


def test_writes_land_exactly_the_bytes_written_and_holes_are_refused(gw):
    """Any sequence of writes: one that starts past the end of the data written so far is
    refused and fails the upload (its close says so, nothing lands); otherwise the landed
    file is what a local file holds after the same writes."""
    import asyncssh

    counter = iter(range(10**6))
    with _asyncssh_sftp(gw) as (sftp, run):

        async def upload(name: str, writes) -> str:
            """'landed', or the first refusal's message."""
            fh = await sftp.open(f"/inbox/{name}", "wb")
            try:
                for offset, data in writes:
                    await fh.write(data, offset)
            except asyncssh.SFTPFailure as exc:
                with pytest.raises(asyncssh.SFTPFailure, match="nothing landed"):
                    await fh.close()
                return exc.reason
            await fh.close()
            return "landed"

        @settings(max_examples=40, deadline=None, database=None)
        @given(writes=WRITES)
        def check(writes):
            name = f"writes-{next(counter)}.hot"
            expected, hole_at = bytearray(), None
            for offset, data in writes:
                if offset > len(expected):
                    hole_at = offset
                    break
                expected[offset:offset + len(data)] = data
            outcome = run(upload(name, writes))
            if hole_at is not None:
                assert f"offset {hole_at} would leave a hole" in outcome
                assert landed_rows(gw, name) == []
            else:
                assert outcome == "landed"
                [row] = landed_rows(gw, name)
                assert row["size"] == len(expected)
                assert row["sha256"] == hashlib.sha256(bytes(expected)).hexdigest()
                assert (gw.home / "landing" / row["sha256"]).read_bytes() == bytes(expected)

        check()


def test_upload_names_outside_the_rule_are_refused_with_the_rule(gw):
    t, s = gw.sftp("af-ops", PASSWORD)
    try:
        for name in ("trailing-newline.hot\n", "Zürich.hot", "tab\tname.hot", "new\nline.hot"):
            with pytest.raises(OSError, match="file name not allowed"):
                s.open(f"/inbox/{name}", "w").close()
    finally:
        t.close()
    assert not [r for r in gw.registry() if r["name"].startswith(("trailing", "Z", "tab"))]


NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ._+=@,-")


@settings(max_examples=500, database=None)
@given(name=st.one_of(st.text(max_size=210),
                      st.text(alphabet=[*sorted(NAME_CHARS), "\n", "\r", "é", "/"],
                              max_size=210)))
def test_upload_name_rule_is_the_documented_one(name):
    from casslink.sftp_gateway.jail import safe_file_name

    expected = (1 <= len(name) <= 200 and set(name) <= NAME_CHARS
                and name[0].isascii() and name[0].isalnum())
    assert safe_file_name(name) == expected
    assert safe_file_name(name + "\n") is False


def test_no_gateway_regex_anchors_with_dollar():
    """``$`` also matches before a trailing newline: every pattern uses fullmatch or \\Z."""
    import importlib
    import pkgutil
    import re

    import casslink.login_policy
    import casslink.sftp_gateway as gateway

    modules = [casslink.login_policy] + [
        importlib.import_module(f"casslink.sftp_gateway.{m.name}")
        for m in pkgutil.iter_modules(gateway.__path__)]
    patterns = [v for module in modules for v in vars(module).values()
                if isinstance(v, re.Pattern)]
    assert patterns
    assert not [p.pattern for p in patterns if p.pattern.endswith("$")]
    from casslink.login_policy import LOGIN_RE

    assert LOGIN_RE.fullmatch("lh-ops") and not LOGIN_RE.fullmatch("lh-ops\n")


def test_outbox_serves_every_name_it_lists(gw):
    """Files named with any bytes (not UTF-8 too) put straight into an outbox: every name the
    listing shows downloads with its bytes, and every non-hidden file is listed."""
    outbox = os.fsencode(gw.home / "homes" / "057" / "outbox")
    names = st.binary(min_size=1, max_size=120).filter(
        lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b".."))

    with _asyncssh_sftp(gw) as (sftp, run):

        async def listed_contents() -> dict[bytes, bytes]:
            out = {}
            for name in await sftp.listdir(b"/outbox"):
                if name not in (b".", b".."):
                    async with sftp.open(b"/outbox/" + name, "rb") as fh:
                        out[name] = await fh.read()
            return out

        @settings(max_examples=60, deadline=None, database=None)
        @given(batch=st.lists(names, min_size=1, max_size=4, unique=True))
        def check(batch):
            made = {name: b"file %d " % i + name for i, name in enumerate(batch)}
            for name, data in made.items():
                with open(os.path.join(outbox, name), "wb") as fh:
                    fh.write(data)
            try:
                served = run(listed_contents())
            finally:
                for name in made:
                    os.unlink(os.path.join(outbox, name))
            assert {n: d for n, d in made.items() if not n.startswith(b".")}.items() \
                <= served.items()
            assert not [n for n in served if n.startswith(b".")]

        check()


def test_openssh_lists_and_downloads_a_non_ascii_outbox_name(gw, tmp_path):
    from casslink.settings import get_settings

    name = "Zürich–Ωmega.f000042.ack"  # a name a participant's original might give an ack
    target = get_settings().with_home(gw.home).homes_dir / "020" / "outbox" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"ACK \xc3\xbc\r\n")
    out = _openssh(gw, f"""
        ls -1 outbox
        get "outbox/{name}" {tmp_path}/got.ack
        """)
    assert out.returncode == 0, out.stderr
    assert f"outbox/{name}" in out.stdout.splitlines()
    assert (tmp_path / "got.ack").read_bytes() == b"ACK \xc3\xbc\r\n"


def test_ls_l_shows_each_folders_real_access(gw, tmp_path):
    from casslink.outbox import write_to_outbox
    from casslink.settings import get_settings

    write_to_outbox(get_settings().with_home(gw.home), "020", "modes.ack", b"ack")
    out = _openssh(gw, """
        ls -l /
        ls -l outbox
        """)
    assert out.returncode == 0, out.stderr
    modes = {line.split()[-1]: line.split()[0] for line in out.stdout.splitlines()
             if line[:1] in "d-" and len(line.split()) > 5}
    assert modes["inbox"] == modes["sandbox"] == "d-wx-wx---"  # put, but not list or get
    assert modes["outbox"] == "dr-xr-x---"  # list and get, nothing else
    assert modes["modes.ack"] == "-r--r-----"
    line = next(x for x in out.stdout.splitlines() if x.endswith("modes.ack")).split()
    assert line[2:4] == ["lh-ops", "020"]  # owner: you; group: your participant's logins
