"""``casslink portal --workers N`` (portal/serve.py): each worker on its own SO_REUSEPORT
socket, so that connections opened together spread over the workers (uvicorn's shared socket
gave them nearly all to one); a worker killed with -9 is replaced; SIGTERM stops them all;
a taken port is refused before any worker starts."""

from __future__ import annotations

import contextlib
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


def _answer_all(conns: list[http.client.HTTPConnection]) -> None:
    """A request on each connection, all sent before any answer is read."""
    for conn in conns:
        conn.request("GET", "/login")
    for conn in conns:
        response = conn.getresponse()
        assert response.status == 200
        response.read()


def _connections(n: int, port: int) -> list[http.client.HTTPConnection]:
    return [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(n)]


def test_connections_spread_over_the_workers_and_a_killed_worker_is_replaced(home) -> None:
    port = free_port()
    proc = _start(home, port)
    try:
        workers = _until(lambda: (lambda ws: ws if len(ws) == WORKERS else None)(
            _workers(proc)), "the workers")
        _until(lambda: _answers(port), "the portal")
        conns = _connections(40, port)
        first, *others = workers
        for w in workers:  # connections arriving together, as users signing in at once:
            w.suspend()    # they wait in the kernel's queues, none accepted yet
        for conn in conns:
            conn.connect()
        first.resume()  # the first worker back takes what is queued for it - on a shared
        time.sleep(1)   # socket, every connection
        for w in others:
            w.resume()
        _answer_all(conns)
        held = {w.pid: _established(w, port) for w in workers}
        assert sum(held.values()) == 40, held
        assert min(held.values()) >= 5, held  # by address hash; all 40 on one: 2**-39
        for conn in conns:
            conn.close()

        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        replaced = _until(lambda: (lambda ws: ws if len(ws) == WORKERS
                                   and victim.pid not in {w.pid for w in ws} else None)(
            _workers(proc)), "a replacement worker")
        conns = _connections(20, port)
        _answer_all(conns)  # those hashed to the dead worker's socket wait for its successor
        successor = next(w for w in replaced if w.pid != workers[1].pid)
        assert _established(successor, port) >= 1  # all 20 on the other: 2**-20
        for conn in conns:
            conn.close()
        assert proc.poll() is None

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for w in replaced:
            assert not w.is_running() or w.status() == psutil.STATUS_ZOMBIE
        assert not _answers(port)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Whatever the test left: resume and end the workers, then the parent."""
    if proc.poll() is not None:
        return
    kids = psutil.Process(proc.pid).children(recursive=True)
    for k in kids:
        with contextlib.suppress(psutil.Error):
            k.resume()
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for k in kids:
        with contextlib.suppress(psutil.Error):
            k.kill()


def test_a_taken_port_is_refused_before_any_worker_starts(home) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        proc = _start(home, port)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in out.decode()
