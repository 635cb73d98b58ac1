"""A watchdog watcher for files written into participants' ``inbox/``/``sandbox/`` folders
by other means (e.g. an OpenSSH server in production): such a file lands like a gateway
upload once it is complete.

Complete means: a close-after-write or a rename into the folder was seen (inotify), the name
is not a temporary one (``.part`` ...), and the size has been stable for ``settle_s``. Every
event is only a hint: the periodic :meth:`Watcher.scan` finds the same files by listing, so a
missed event delays a file but never loses it. A landed file is removed from the folder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from casslink.participants import UnknownParticipant, resolve
from casslink.settings import Settings
from casslink.sftp_gateway import landing
from casslink.sftp_gateway.jail import DROP_AREAS, is_temp_name, safe_file_name

log = logging.getLogger("casslink.gateway")


class Watcher(FileSystemEventHandler):
    def __init__(self, settings: Settings, engine: Engine, notify: Callable[[int], None]
                 | None = None, settle_s: float = 1.0) -> None:
        self.settings, self.engine, self.notify, self.settle_s = (settings, engine, notify,
                                                                  settle_s)
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple[int, float]] = {}  # path -> (size, first seen stable)
        self._observer: Observer | None = None

    # --- which files ---------------------------------------------------------------------
    def _candidate(self, path: Path) -> tuple[str, str] | None:
        """(participant code, area) if ``path`` is a landable file of a home."""
        try:
            rel = path.relative_to(self.settings.homes_dir)
        except ValueError:
            return None
        parts = rel.parts
        if len(parts) != 3 or parts[1] not in DROP_AREAS or parts[0].startswith("."):
            return None
        if not safe_file_name(parts[2]) or is_temp_name(parts[2]):
            return None
        return parts[0], parts[1]

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in ("closed", "moved", "created",
                                                           "modified"):
            return
        path = Path(event.dest_path if event.event_type == "moved" else event.src_path)
        if self._candidate(path):
            with self._lock:
                self._seen.setdefault(path, (-1, 0.0))

    # --- landing -------------------------------------------------------------------------
    def scan(self) -> list[int]:
        """List every drop folder, land the files whose size is stable; returns file ids."""
        for area in DROP_AREAS:
            for path in self.settings.homes_dir.glob(f"*/{area}/*"):
                if path.is_file() and not path.is_symlink() and self._candidate(path):
                    with self._lock:
                        self._seen.setdefault(path, (-1, 0.0))
        return self._land_stable()

    def _land_stable(self) -> list[int]:
        landed, now = [], time.monotonic()
        with self._lock:
            items = list(self._seen.items())
        for path, (size, since) in items:
            try:
                current = path.stat().st_size
            except FileNotFoundError:
                with self._lock:
                    self._seen.pop(path, None)
                continue
            if current != size:
                with self._lock:
                    self._seen[path] = (current, now)
                continue
            if now - since < self.settle_s:
                continue
            code, area = self._candidate(path) or ("", "")
            try:
                participant = resolve(self.engine, code)
            except UnknownParticipant:
                log.warning("file %s is in the home of unknown participant %s", path, code)
                continue
            result = landing.land_path(self.settings, self.engine, path, participant.id, None,
                                       path.name, "sandbox" if area == "sandbox" else "inbox")
            path.unlink()
            with self._lock:
                self._seen.pop(path, None)
            log.info("watcher landed %s as file %s", path, result.file_id)
            landed.append(result.file_id)
            if self.notify:
                self.notify(result.file_id)
        return landed

    def start(self) -> None:
        self.settings.homes_dir.mkdir(parents=True, exist_ok=True)
        self._observer = Observer()
        self._observer.schedule(self, str(self.settings.homes_dir), recursive=True)
        self._observer.start()

    def stop(self) -> None:
        if self._observer:
            self._observer.stop()
            self._observer.join(timeout=5)
