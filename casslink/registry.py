"""The file registry: every landed file, content-addressed, and where it ended up.

States: ``landed`` (in the landing area, not yet processed) -> ``archived`` (accepted, fully or
partly) or ``quarantined`` (rejected). A landed blob lives at ``landing/<sha256>``; processing
moves it to ``archive/<sha256>`` or ``quarantine/<sha256>`` (never deletes it).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from sqlalchemy import Engine, select

from casslink.db.engine import session_scope
from casslink.db.models import LandedFile
from casslink.settings import Settings
from casslink.storage import sha256_file

FINAL_STATES = ("archived", "quarantined")


def landing_path(settings: Settings, sha256: str) -> Path:
    return settings.landing_dir / sha256


def land_copy(settings: Settings, engine: Engine, source: Path, participant_id: int | None,
              original_name: str, channel: str, user_login: str | None = None) -> int:
    """Copy a file into the landing area and register it (used by ``casslink ingest``)."""
    settings.ensure_dirs()
    sha = sha256_file(source)
    target = landing_path(settings, sha)
    if not target.exists():
        tmp = target.with_name(f".{sha}.tmp")
        shutil.copyfile(source, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    return register(engine, sha, target.stat().st_size, participant_id, original_name, channel,
                    user_login, str(target))


def register(engine: Engine, sha256: str, size: int, participant_id: int | None,
             original_name: str, channel: str, user_login: str | None, stored_path: str) -> int:
    with session_scope(engine) as s:
        row = LandedFile(sha256=sha256, size=size, participant_id=participant_id,
                         original_name=original_name, channel=channel, user_login=user_login,
                         stored_path=stored_path, state="landed")
        s.add(row)
        s.flush()
        return row.id


def blob_path(settings: Settings, row: LandedFile) -> Path:
    """Where the file's bytes are now (a retried step may find them already moved)."""
    for candidate in (Path(row.stored_path), settings.archive_dir / row.sha256,
                      settings.quarantine_dir / row.sha256, landing_path(settings, row.sha256)):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the bytes of file {row.id} ({row.sha256}) are missing")


def get(engine: Engine, file_id: int) -> LandedFile:
    with session_scope(engine) as s:
        row = s.get(LandedFile, file_id)
        if row is None:
            raise LookupError(f"no file with id {file_id}")
        s.expunge(row)
        return row


def rows(engine: Engine, participant_id: int | None = None) -> list[LandedFile]:
    with session_scope(engine) as s:
        q = select(LandedFile).order_by(LandedFile.id)
        if participant_id is not None:
            q = q.where(LandedFile.participant_id == participant_id)
        out = list(s.scalars(q))
        for r in out:
            s.expunge(r)
        return out


def pending(engine: Engine) -> list[int]:
    """Ids of files landed but not yet processed (for the sweep)."""
    with session_scope(engine) as s:
        return list(s.scalars(select(LandedFile.id).where(LandedFile.state == "landed")
                              .order_by(LandedFile.id)))


def finish(settings: Settings, engine: Engine, file_id: int, state: str, **outcome) -> Path:
    """Move the blob to archive/quarantine and record the outcome (idempotent)."""
    row = get(engine, file_id)
    folder = settings.archive_dir if state == "archived" else settings.quarantine_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / row.sha256
    source = Path(row.stored_path)
    if source != target:
        if not target.exists():
            os.replace(source, target) if source.exists() else None
        elif source.exists() and source.parent == settings.landing_dir and not any(
                r.id != file_id and r.state == "landed" and r.sha256 == row.sha256
                for r in rows(engine, row.participant_id)):
            source.unlink()  # identical content already kept at target
    with session_scope(engine) as s:
        db_row = s.get(LandedFile, file_id)
        db_row.state, db_row.stored_path = state, str(target)
        db_row.processed_at = dt.datetime.now(dt.UTC)
        for k, v in outcome.items():
            setattr(db_row, k, v)
    return target
