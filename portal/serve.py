"""``casslink portal --workers N``: N uvicorn processes, each accepting on its own socket.

uvicorn's own ``--workers`` shares one listening socket, and the first worker to wake takes
every connection waiting (asyncio accepts in a loop): 20 users signing in together all land
on one or two workers, whose GIL then bounds the portal while the other workers idle. Here
the parent binds one ``SO_REUSEPORT`` socket per worker slot on the port, and the kernel
spreads new connections across them by address hash (Linux). A slot's socket outlives its
worker: connections queued for a worker that died wait for its replacement. The parent
checks the port is free, binds the sockets, starts the workers, restarts one that dies, and
stops them all on SIGINT or SIGTERM. It does not ping the workers: a hung worker keeps its
share of new connections until it is killed."""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import socket
import sys
import time
from typing import Any

APP = "casslink.portal.app:app_from_environment"
BACKLOG = 2048
RESTART_EVERY_S = 1.0
"""A slot's worker is started at most once a second (a worker that keeps dying)."""
STOP_WAIT_S = 20.0


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


def slot_sockets(host: str, port: int, n: int) -> list[socket.socket]:
    """``n`` ``SO_REUSEPORT`` sockets on ``host``:``port`` (port 0: one free port for all).
    First a plain bind, which fails if anything listens there - even an earlier portal's
    ``SO_REUSEPORT`` sockets, which ours would otherwise silently join."""
    listening_socket(host, port, reuse_port=False).close()
    first = listening_socket(host, port, reuse_port=True)
    socks = [first]
    try:
        for _ in range(n - 1):
            socks.append(listening_socket(host, first.getsockname()[1], reuse_port=True))
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def _die_with_parent(parent: int) -> None:
    """SIGTERM this worker when the parent dies, even by SIGKILL (Linux's prctl)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl
        raise SystemExit(0)


def _worker(sock: socket.socket, parent: int, options: dict[str, Any]) -> None:
    """One worker process: uvicorn serving the portal on the slot's socket. Exits with
    uvicorn's STARTUP_FAILURE when it never started serving (a restart would fail alike)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    _die_with_parent(parent)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(APP, factory=True, host=host, port=port, **options))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the process group
        server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def serve(host: str, port: int, workers: int, options: dict[str, Any],
          poll_s: float = 0.2) -> int:
    """Run ``workers`` worker processes until SIGINT or SIGTERM; returns the exit code
    (1 when the port cannot be had or a worker cannot start)."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        socks = slot_sockets(host, port, workers)
    except OSError as exc:
        taken = exc.errno == errno.EADDRINUSE
        print(f"error: {host}:{port} is already in use" if taken
              else f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    multiprocessing.allow_connection_pickling()
    spawn = multiprocessing.get_context("spawn")
    signals: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda sig, _frame: signals.append(sig))

    def start(sock: socket.socket) -> tuple[multiprocessing.process.BaseProcess, float]:
        proc = spawn.Process(target=_worker, args=(sock, os.getpid(), options))
        proc.start()
        return proc, time.monotonic()

    slots = [start(sock) for sock in socks]
    failed = False
    while not signals and not failed:
        time.sleep(poll_s)
        for i, (proc, since) in enumerate(slots):
            if signals or proc.is_alive():
                continue
            if proc.exitcode == STARTUP_FAILURE:
                print(f"error: a portal worker failed to start (exit {proc.exitcode})",
                      file=sys.stderr)
                failed = True
                break
            if time.monotonic() - since < RESTART_EVERY_S:
                continue
            print(f"portal worker {proc.pid} exited ({proc.exitcode}); starting another",
                  file=sys.stderr)
            slots[i] = start(socks[i])
    for proc, _ in slots:
        proc.terminate()
    deadline = time.monotonic() + STOP_WAIT_S
    for proc, _ in slots:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()
    for sock in socks:
        sock.close()
    return 1 if failed else 0
