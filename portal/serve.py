"""``casslink portal --workers N``: N uvicorn processes, each listening on its own socket.

uvicorn's own ``--workers`` shares one listening socket, and the first worker to wake takes
every connection waiting (asyncio accepts in a loop): 20 users signing in together all land
on one or two workers, whose GIL then bounds the portal while the other workers idle. Here
each worker binds its own ``SO_REUSEPORT`` socket on the port, and the kernel spreads new
connections across them by address hash (benchmarks/portal_load.py shows the spread). This
parent only checks the port is free, starts the workers, restarts one that dies, and stops
them all on SIGINT or SIGTERM."""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
from typing import Any

APP = "casslink.portal.app:app_from_environment"
BACKLOG = 2048


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening (non-blocking, as uvicorn
    wants it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on ``host``:``port`` - not even a ``SO_REUSEPORT`` socket of
    an earlier portal, which our workers' binds would otherwise silently join."""
    try:
        listening_socket(host, port, reuse_port=False).close()
    except OSError:
        return False
    return True


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One worker process: its own socket, then uvicorn serving the portal on it."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    try:
        sock = listening_socket(host, port, reuse_port=True)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from exc
    config = uvicorn.Config(APP, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int, options: dict[str, Any],
          poll_s: float = 0.5) -> int:
    """Run ``workers`` worker processes until SIGINT or SIGTERM; returns the exit code
    (1 when the port is taken or a worker cannot start)."""
    from uvicorn.config import STARTUP_FAILURE

    if not port_free(host, port):
        print(f"error: {host}:{port} is already in use", file=sys.stderr)
        return 1
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def start() -> multiprocessing.process.BaseProcess:
        proc = spawn.Process(target=_worker, args=(host, port, options), daemon=False)
        proc.start()
        return proc

    procs = [start() for _ in range(workers)]
    failed = False
    while not stop.wait(poll_s):
        for i, proc in enumerate(procs):
            if proc.is_alive():
                continue
            if proc.exitcode == STARTUP_FAILURE:  # a restart would fail the same way
                print(f"error: a portal worker failed to start (exit {proc.exitcode})",
                      file=sys.stderr)
                failed = True
                stop.set()
                break
            print(f"portal worker {proc.pid} exited ({proc.exitcode}); starting another",
                  file=sys.stderr)
            procs[i] = start()
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(20)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return 1 if failed else 0
