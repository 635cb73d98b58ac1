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


SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
NAME_LIMIT = 200
SUFFIX_MAX = 40  # a name's tail from a dot this close to the end is its suffix


def _clean(text: str) -> str:
    return "".join(ch if ch in SAFE else "_" for ch in text)


def safe_name(name: str, limit: int = NAME_LIMIT, suffix: str | None = None) -> str:
    """A file name safe in any outbox and any SFTP client: ASCII letters, digits and ``._-``
    only (anything else becomes ``_``), no leading dot, at most ``limit`` characters.

    A name too long is cut in its stem, never in its suffix: ``name + suffix`` when a suffix
    is given, else ``name``'s tail from the first dot among its last :data:`SUFFIX_MAX`
    characters is kept whole - names that differ in their suffix stay different."""
    if suffix is None:
        cleaned = _clean(name)
        dot = cleaned.find(".", max(1, len(cleaned) - SUFFIX_MAX))
        stem, suffix = (cleaned[:dot], cleaned[dot:]) if dot > 0 else (cleaned, "")
    else:
        stem, suffix = _clean(name), _clean(suffix)
    if len(suffix) >= limit:
        raise ValueError(f"suffix {suffix!r} leaves no room for a name")
    return (stem.lstrip(".")[:limit - len(suffix)] or "file") + suffix


def write_to_outbox(settings: Settings, participant_code: str, name: str,
            data: Data) -> Path:
    """Atomically put ``data`` as ``outbox/<name>`` of the participant; returns the path."""
    target = home_of(settings, participant_code) / "outbox" / safe_name(name)
    return atomic_write_bytes(target, data)
