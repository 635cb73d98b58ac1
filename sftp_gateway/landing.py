"""Atomic landing: a complete upload (fsynced, hashed) moves into the content-addressed landing
area and is registered; only then does processing ever see it.

Order of steps, and what a crash at each step leaves:

1. the upload is written to ``homes/.staging/<random>`` (hidden from every user);
2. on the client's own close request (never on a session's end) it is fsynced and hashed;
3. ``os.replace`` into ``landing/<sha256>`` (atomic on one filesystem), see :func:`publish`;
4. one registry row is inserted (who, participant, name, size, sha256, channel).

Every step here blocks: the gateway runs them on its one shared thread pool.

A crash before 3 leaves a staging file, removed at the next start (never registered, never
processed). A crash between 3 and 4 leaves an unregistered blob in ``landing/``, which the
next start moves to ``quarantine/orphans/`` for an operator (never processed, never lost).
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from casslink import registry
from casslink.db.engine import session_scope
from casslink.db.models import LandedFile
from casslink.settings import Settings
from casslink.storage import fsync_dir, sha256_of, write_all

log = logging.getLogger("casslink.gateway")


@dataclass(frozen=True)
class Landed:
    file_id: int
    sha256: str
    size: int
    channel: str
    name: str


def staging_dir(settings: Settings) -> Path:
    path = settings.homes_dir / ".staging"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def new_staging_path(settings: Settings) -> Path:
    return staging_dir(settings) / uuid.uuid4().hex


def stage(settings: Settings, blocks: Iterable[bytes]) -> tuple[Path, str, int]:
    """Stream ``blocks`` into a new fsynced staging file: (path, sha256, size)."""
    staged, h, size = new_staging_path(settings), hashlib.sha256(), 0
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        for block in blocks:
            write_all(fd, block)
            h.update(block)
            size += len(block)
        os.fsync(fd)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return staged, h.hexdigest(), size


def publish(staged: Path, target: Path) -> None:
    """The landing-streaming variant of :func:`casslink.storage.atomic_write_bytes`: the
    bytes were streamed (and fsynced) into ``staged`` on the same file system, so readers of
    ``target`` see nothing or the whole file; the rename is made durable too. Identical bytes
    already at ``target`` (content addressing) make the staged copy redundant."""
    if target.exists():
        staged.unlink()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    fsync_dir(target.parent)


def land(settings: Settings, engine: Engine, staged: Path, sha256: str, size: int,
         participant_id: int, user_login: str | None, name: str, channel: str) -> Landed:
    """Move a complete, fsynced staged file into landing and register it (blocking)."""
    target = registry.landing_path(settings, sha256)
    publish(staged, target)
    file_id = registry.register(engine, sha256, size, participant_id, name, channel,
                                user_login, str(target))
    return Landed(file_id, sha256, size, channel, name)


def land_upload(settings: Settings, engine: Engine, staged: Path, participant_id: int,
                user_login: str | None, name: str, channel: str) -> Landed:
    """Land a finished SFTP upload (closed and fsynced by the server): hash it, then
    :func:`land` it. Its size is the staged file's, which holds no hole (see server.write)."""
    size = staged.stat().st_size
    return land(settings, engine, staged, sha256_of(staged), size, participant_id,
                user_login, name, channel)


def land_path(settings: Settings, engine: Engine, source: Path, participant_id: int,
              user_login: str | None, name: str, channel: str) -> Landed:
    """Land a file that is already complete on disk (watcher): copy into staging first, so
    the source may be removed afterwards by the caller."""
    with open(source, "rb") as src:
        staged, sha, size = stage(settings, iter(lambda: src.read(1 << 20), b""))
    return land(settings, engine, staged, sha, size, participant_id, user_login, name,
                channel)


def recover(settings: Settings, engine: Engine) -> dict[str, int]:
    """At start: drop leftover staging files, quarantine unregistered landing blobs."""
    removed = 0
    for p in staging_dir(settings).iterdir():
        if p.is_file():
            p.unlink()
            removed += 1
    orphans = 0
    if settings.landing_dir.exists():
        with session_scope(engine) as s:
            known = set(s.scalars(select(LandedFile.sha256).where(
                LandedFile.state == "landed")))
        for p in settings.landing_dir.iterdir():
            if p.is_file() and p.name not in known and not p.name.startswith("."):
                dest = settings.quarantine_dir / "orphans"
                dest.mkdir(parents=True, exist_ok=True)
                os.replace(p, dest / p.name)
                orphans += 1
                log.warning("unregistered landing blob %s moved to quarantine/orphans", p.name)
    return {"staging_removed": removed, "orphans_quarantined": orphans}


