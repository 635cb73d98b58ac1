"""Delivery into a participant's SFTP ``outbox/``: write a hidden temp file, fsync, rename.

A client listing or downloading the outbox never sees half a file: the temporary name starts
with a dot (the gateway hides dot-files) and the rename is atomic on one filesystem.
"""

from __future__ import annotations

from pathlib import Path

from casslink.settings import Settings
from casslink.storage import Data, atomic_write_bytes

HOME_FOLDERS = ("inbox", "outbox", "sandbox")


def home_of(settings: Settings, participant_code: str) -> Path:
    """A participant's SFTP home (``homes/<code>``), created with its three folders."""
    if not participant_code or "/" in participant_code or participant_code.startswith("."):
        raise ValueError(f"not a participant code: {participant_code!r}")
    home = settings.homes_dir / participant_code
    for folder in HOME_FOLDERS:
        (home / folder).mkdir(parents=True, exist_ok=True)
    return home


def safe_name(name: str, limit: int = 200) -> str:
    """A file name that is safe in any outbox: letters, digits, ``._-`` only, no leading dot."""
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:limit]
    return cleaned.lstrip(".") or "file"


def deliver(settings: Settings, participant_code: str, name: str,
            data: Data) -> Path:
    """Atomically put ``data`` as ``outbox/<name>`` of the participant; returns the path."""
    target = home_of(settings, participant_code) / "outbox" / safe_name(name)
    return atomic_write_bytes(target, data)
