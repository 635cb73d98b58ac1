"""Attachments of a dispute: PDF, PNG or JPEG, told by their first bytes (never by name or
declared type), at most :data:`MAX_BYTES`, stored content-addressed under
``<home>/attachments/`` like landed files (the same bytes are stored once)."""

from __future__ import annotations

import os

from sqlalchemy import Engine

from casslink.db.engine import session_scope
from casslink.db.models import DisputeAttachment
from casslink.outbox import safe_name
from casslink.settings import Settings
from casslink.storage import atomic_write_bytes, content_path, sha256_of

from .service import Actor, DisputeError, _can, _event, _load

MAX_BYTES = int(os.environ.get("CASSLINK_ATTACHMENT_MAX_BYTES", str(5 << 20)))
MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
         (b"\xff\xd8\xff", "image/jpeg"))
"""Accepted types, by the bytes a file starts with."""


def media_type(data: bytes) -> str:
    """The type the bytes are, or DisputeError."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    raise DisputeError("an attachment must be a PDF, PNG or JPEG file (by its content)")


def attach(settings: Settings, engine: Engine, actor: Actor, dispute_id: int, name: str,
           data: bytes) -> dict:
    """Store ``data`` for the dispute (either party with ``dispute``, or operators)."""
    if len(data) > MAX_BYTES:
        raise DisputeError(f"an attachment may hold at most {MAX_BYTES} bytes")
    kind = media_type(data)
    from casslink.access import Forbidden

    with session_scope(engine) as s:
        d = _load(s, actor, dispute_id)
        if not (_can(s, actor, "dispute", d.agent_code, d.operation_code)
                or _can(s, actor, "dispute", d.airline_prefix, None)):
            raise Forbidden(f"{actor.login} may not attach to dispute {d.id}")
    sha = sha256_of(data)
    path = content_path(settings.home / "attachments", sha)
    if not path.exists():
        atomic_write_bytes(path, data)
    with session_scope(engine) as s:
        d = _load(s, actor, dispute_id)
        row = DisputeAttachment(dispute_id=d.id, name=safe_name(name or "attachment")[:255],
                                media_type=kind, sha256=sha, size=len(data),
                                added_by=actor.login)
        s.add(row)
        s.flush()
        _event(s, d, actor, "attached", name=row.name, sha256=sha, size=len(data))
        return {"id": row.id, "name": row.name, "media_type": kind, "sha256": sha,
                "size": len(data)}
