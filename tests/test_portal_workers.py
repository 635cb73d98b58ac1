"""``casslink portal --workers N`` (portal/serve.py): each worker on its own SO_REUSEPORT
socket, so that connections opened together spread over the workers (uvicorn's shared socket
gave them nearly all to one); a worker killed with -9 is replaced; SIGTERM stops them all;
a taken port is refused before any worker starts."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.portal_world import free_port

WORKERS = 2


def _start(home: Path, port: int, workers: int = WORKERS) -> subprocess.Popen:
    env = dict(os.environ, CASSLINK_HOME=str(home))
    env.pop("CASSLINK_DB_URL", None)
    return subprocess.Popen([str(Path(sys.executable).parent / "casslink"), "portal",
                             "--port", str(port), "--workers", str(workers)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    """The portal's worker processes (not multiprocessing's resource tracker)."""
    return [c for c in psutil.Process(proc.pid).children()
            if "resource_tracker" not in " ".join(c.cmdline())]


def _until(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/login")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def _established(worker: psutil.Process, port: int) -> int:
    return sum(1 for c in worker.net_connections(kind="tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)


def test_connections_spread_over_the_workers_and_a_killed_worker_is_replaced(home) -> None:
    port = free_port()
    proc = _start(home, port)
    try:
        _until(lambda: _answers(port) and len(_workers(proc)) == WORKERS, "the portal")
        _until(lambda: all(_answers(port) for _ in range(10)), "every worker to listen")
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(40)]
        first, *others = _workers(proc)
        for w in (first, *others):  # connections arriving together, as users signing in at
            w.suspend()             # once: they wait in the kernel's queues, none accepted
        for conn in conns:
            conn.connect()
        first.resume()  # the first worker back takes what is queued for it - on a shared
        time.sleep(1)   # socket, every connection
        for w in others:
            w.resume()
        for conn in conns:
            conn.request("GET", "/login")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        held = {w.pid: _established(w, port) for w in _workers(proc)}
        assert sum(held.values()) == 40, held
        assert min(held.values()) >= 5, held  # by address hash; all 40 on one: 2**-39
        for conn in conns:
            conn.close()

        victim = _workers(proc)[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        replaced = _until(lambda: (lambda ws: ws if len(ws) == WORKERS
                                   and victim.pid not in {w.pid for w in ws} else None)(
            _workers(proc)), "a replacement worker")
        _until(lambda: all(_answers(port) for _ in range(10)), "the replacement to listen")
        assert proc.poll() is None

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for w in replaced:
            assert not w.is_running() or w.status() == psutil.STATUS_ZOMBIE
        assert not _answers(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_taken_port_is_refused_before_any_worker_starts(home) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        proc = _start(home, port)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in out.decode()
