"""Run the gateway: SFTP server + watchdog watcher + Airflow notifier, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from casslink.db.engine import make_engine, upgrade
from casslink.settings import Settings
from casslink.sftp_gateway.notify import Notifier
from casslink.sftp_gateway.policy import Limits
from casslink.sftp_gateway.server import Gateway, host_key, start
from casslink.sftp_gateway.watcher import Watcher

SCAN_INTERVAL_S = 2.0


async def serve(settings: Settings, host: str, port: int, limits: Limits | None = None,
                notify: bool = True, watch: bool = True, out=sys.stdout) -> None:
    settings.ensure_dirs()
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    notifier = Notifier(settings) if notify else None
    gw = Gateway(settings, engine, limits or Limits(), notifier)
    acceptor = await start(gw, host, port)
    watcher = Watcher(settings, engine, notifier) if watch else None
    if watcher:
        watcher.start()
    key = host_key(settings)
    print(f"SFTP gateway  sftp -P {port} LOGIN@{host}   host key "
          f"{key.get_fingerprint('sha256')} (ssh-ed25519)", file=out, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            if watcher:
                await gw.blocking(watcher.scan)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCAN_INTERVAL_S)
    finally:
        acceptor.close()
        for conn in list(gw.connections):  # unfinished uploads are discarded, never landed
            conn.close()
        with contextlib.suppress(TimeoutError):  # never hang a shutdown on a stuck peer
            await asyncio.wait_for(acceptor.wait_closed(), 5)
        if watcher:
            watcher.stop()
        await gw.aclose()  # landings the clients asked for finish before the database goes
        if notifier:
            notifier.close()
        engine.dispose()
