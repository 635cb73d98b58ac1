"""An upload lands only on the client's own close request: never when the client dies, the
channel half-closes, the TCP connection drops or the gateway itself is killed mid-upload.

Each case checks the registry (no row), ``landing/`` (no new blob) and staging (emptied), then
uploads the complete file under the same name: it lands exactly once."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import socket
import struct
import subprocess

import paramiko
import psutil
import pytest

from tests.gateway_harness import (
    PASSWORD,
    GatewayProc,
    audit_events,
    landed_rows,
    landing_blobs,
    openssh_argv,
    running_gateway,
    staged_files,
    wait_for,
)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    with running_gateway(tmp_path_factory.mktemp("gwfaults") / "var",
                         tmp_path_factory.mktemp("keys")) as gp:
        yield gp


def _rows(gp: GatewayProc, name: str) -> list[dict]:
    return landed_rows(gp, name)


def _discarded(gp: GatewayProc, path: str) -> bool:
    return any(a["event"] == "upload_discarded" and a.get("path") == path
               for a in audit_events(gp))


def _assert_nothing_landed(gp: GatewayProc, name: str, blobs_before: set[str]) -> None:
    wait_for(lambda: _discarded(gp, f"/inbox/{name}") and not staged_files(gp),
             f"the gateway discards the partial {name}")
    assert _rows(gp, name) == []
    assert landing_blobs(gp) == blobs_before


def _assert_lands_once(gp: GatewayProc, name: str, data: bytes) -> None:
    """A complete upload of the same name, afterwards: one row, one blob, the right bytes."""
    blobs_before = landing_blobs(gp)
    t, s = gp.sftp("af-ops", PASSWORD)
    try:
        s.putfo(io.BytesIO(data), f"/inbox/{name}")
    finally:
        t.close()
    sha = hashlib.sha256(data).hexdigest()
    rows = _rows(gp, name)
    assert [(r["sha256"], r["size"], r["state"]) for r in rows] == [(sha, len(data), "landed")]
    assert landing_blobs(gp) - blobs_before == {sha}
    assert (gp.home / "landing" / sha).read_bytes() == data


def _paramiko_session(gp: GatewayProc, sock: socket.socket | None = None):
    t = paramiko.Transport(sock or ("127.0.0.1", gp.port))
    t.connect(username="af-ops", password=PASSWORD)
    chan = t.open_session()
    chan.invoke_subsystem("sftp")
    return t, chan, paramiko.SFTPClient(chan)


def test_openssh_sftp_killed_mid_put_lands_nothing(gw, tmp_path):
    """SIGKILL to ``sftp``: its ``ssh`` sends channel EOF with the file still open."""
    data = os.urandom(4 << 20)
    src = tmp_path / "big.hot"
    src.write_bytes(data)
    batch = tmp_path / "batch"
    batch.write_text(f"put {src} inbox/killed-openssh.hot\n")
    blobs = landing_blobs(gw)
    # -l: 1000 Kbit/s, so the put takes half a minute and is surely cut in the middle
    proc = subprocess.Popen(openssh_argv(gw, batch, "-l", "1000"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: any(p.stat().st_size > 0 for p in staged_files(gw)),
                 "the first bytes reach the gateway")
        ssh = psutil.Process(proc.pid).children()
        assert [p.name() for p in ssh] == ["ssh"]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _assert_nothing_landed(gw, "killed-openssh.hot", blobs)
        psutil.wait_procs(ssh, timeout=30)  # the gateway closed the channel: ssh is done
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _assert_lands_once(gw, "killed-openssh.hot", data)


def test_paramiko_half_close_lands_nothing(gw):
    """EOF on the channel (``shutdown_write``) while a handle is open."""
    blobs = landing_blobs(gw)
    t, chan, s = _paramiko_session(gw)
    try:
        fh = s.open("/inbox/half-closed.hot", "w")
        fh.write(b"first bytes of a file " * 5000)
        fh.flush()  # paramiko waits for the write's status: the bytes are at the gateway
        chan.shutdown_write()
        _assert_nothing_landed(gw, "half-closed.hot", blobs)
    finally:
        t.close()
    _assert_lands_once(gw, "half-closed.hot", b"the whole file " * 6000)


def test_dropped_tcp_connection_lands_nothing(gw):
    """The TCP connection is reset (SO_LINGER 0, then close) with a handle open."""
    blobs = landing_blobs(gw)
    sock = socket.create_connection(("127.0.0.1", gw.port))
    t, _chan, s = _paramiko_session(gw, sock)
    try:
        fh = s.open("/inbox/dropped.hot", "w")
        fh.write(b"z" * 200_000)
        fh.flush()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(sock.detach())  # RST: no SSH goodbye, no SFTP close
        _assert_nothing_landed(gw, "dropped.hot", blobs)
    finally:
        t.close()
    _assert_lands_once(gw, "dropped.hot", b"complete " * 30_000)


def test_of_several_open_files_only_the_one_the_client_closed_lands(gw):
    """Several files open at once, one closed by the client: only that one lands."""
    blobs = landing_blobs(gw)
    t, chan, s = _paramiko_session(gw)
    try:
        done = s.open("/inbox/closed-by-client.hot", "w")
        done.write(b"done " * 1000)
        left = [s.open(f"/inbox/left-open-{i}.hot", "w") for i in range(3)]
        for fh in left:
            fh.write(b"half " * 1000)
            fh.flush()
        done.close()
        chan.shutdown_write()
        for i in range(3):
            _assert_nothing_landed(gw, f"left-open-{i}.hot", blobs | {hashlib.sha256(
                b"done " * 1000).hexdigest()})
    finally:
        t.close()
    assert [r["size"] for r in _rows(gw, "closed-by-client.hot")] == [5000]


def test_gateway_sigkilled_mid_upload_restarts_and_lands_the_retry_once(gw):
    t, s = gw.sftp("af-ops", PASSWORD)
    fh = s.open("/inbox/gateway-killed.hot", "w")
    fh.write(b"z" * 200_000)
    fh.flush()
    assert len(staged_files(gw)) == 1
    blobs = landing_blobs(gw)
    gw.stop(signal.SIGKILL)
    t.close()
    try:
        assert _rows(gw, "gateway-killed.hot") == []
    finally:
        gw.start()  # recovery at start: leftover staging removed, nothing registered
    assert staged_files(gw) == []
    assert _rows(gw, "gateway-killed.hot") == []
    assert landing_blobs(gw) == blobs
    _assert_lands_once(gw, "gateway-killed.hot", b"after restart " * 20_000)
