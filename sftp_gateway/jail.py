"""The virtual tree every SFTP user sees, and the only paths that exist in it::

    /            the participant's home (read-only listing of the three folders)
    /inbox/      write-only drop: files land for billing
    /sandbox/    write-only drop: files are validated and acknowledged, never billed
    /outbox/     read-only: acknowledgements and outputs

Folders are flat. A client path is normalised against ``/`` (so ``..`` can never climb out)
and must name the root, a folder, or a file directly inside a folder. Two rules for names:

- an upload name (``inbox/``, ``sandbox/``) must pass :func:`safe_file_name` (printable ASCII
  from a small set, see :data:`NAME_RULE`); any other is refused with that rule as the reason;
- an outbox name is served exactly as the file is named on disk (:func:`servable_name`): the
  client's bytes are decoded with :func:`os.fsdecode`, which :func:`os.fsencode` turns back into
  the same bytes, and the listing sends ``os.fsencode(name)``. So every name the outbox lists
  can be opened, whatever its characters.

No client path is ever joined onto a real filesystem path except an outbox file name, which
holds no ``/`` and is opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass

AREAS = ("inbox", "outbox", "sandbox")
DROP_AREAS = ("inbox", "sandbox")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+=@,-]{0,199}")  # always fullmatch
NAME_RULE = ("1 to 200 characters: letters A-Z a-z, digits 0-9, space and . _ + = @ , - "
             "(the first a letter or digit)")
MAX_NAME_BYTES = 255  # one path component on Linux filesystems
TEMP_SUFFIXES = (".part", ".tmp", ".filepart", ".partial", ".upload", ".uploading", ".temp")


class JailError(Exception):
    """The path is outside the tree or not a name we accept."""


class NameNotAllowed(JailError):
    """An upload name outside :data:`NAME_RULE`."""


@dataclass(frozen=True)
class VPath:
    area: str | None  # None = the root
    name: str | None  # None = the folder itself

    @property
    def text(self) -> str:
        if self.area is None:
            return "/"
        return f"/{self.area}" + (f"/{self.name}" if self.name else "")


def safe_file_name(name: str) -> bool:
    """A name a file may be uploaded (or dropped) under: the whole name matches NAME_RE."""
    return NAME_RE.fullmatch(name) is not None


def servable_name(name: str) -> bool:
    """A name the outbox lists and serves: one non-hidden path component of the file system
    (temporary files of a delivery start with a dot and stay hidden)."""
    if not name or name.startswith(".") or "/" in name or "\x00" in name:
        return False
    try:
        return len(os.fsencode(name)) <= MAX_NAME_BYTES
    except UnicodeEncodeError:  # a lone surrogate that no file name on disk can hold
        return False


def is_temp_name(name: str) -> bool:
    """Names clients upload to before renaming (``x.part``, WinSCP ``x.filepart``, ...)."""
    return name.lower().endswith(TEMP_SUFFIXES)


def resolve(path: bytes | str) -> VPath:
    """Client path -> VPath; raises JailError for anything else."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)  # exact round trip with os.fsencode, whatever the bytes
    if "\x00" in path:
        raise JailError("forbidden character in path")
    norm = posixpath.normpath(posixpath.join("/", path))
    parts = [p for p in norm.split("/") if p]
    if not parts:
        return VPath(None, None)
    if parts[0] not in AREAS or len(parts) > 2:
        raise JailError(f"no such path: {norm}")
    if len(parts) == 1:
        return VPath(parts[0], None)
    if parts[0] == "outbox":
        if not servable_name(parts[1]):
            raise JailError(f"no such file: {norm}")
    elif not safe_file_name(parts[1]):
        raise NameNotAllowed(f"file name not allowed: {parts[1]!r}; use {NAME_RULE}")
    return VPath(parts[0], parts[1])
