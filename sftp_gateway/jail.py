"""The virtual tree every SFTP user sees, and the only paths that exist in it::

    /            the participant's home (read-only listing of the three folders)
    /inbox/      write-only drop: files land for billing
    /sandbox/    write-only drop: files are validated and acknowledged, never billed
    /outbox/     read-only: acknowledgements and outputs

Folders are flat. A client path is normalised against ``/`` (so ``..`` can never climb out)
and must name the root, a folder, or a file directly inside a folder with a safe name. No
client path is ever joined onto a real filesystem path except an outbox file name that passed
:func:`safe_file_name`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

AREAS = ("inbox", "outbox", "sandbox")
DROP_AREAS = ("inbox", "sandbox")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+=@,-]{0,199}$")
TEMP_SUFFIXES = (".part", ".tmp", ".filepart", ".partial", ".upload", ".uploading", ".temp")


class JailError(Exception):
    """The path is outside the tree or not a name we accept."""


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
    return bool(NAME_RE.match(name)) and name not in (".", "..") and "\x00" not in name


def is_temp_name(name: str) -> bool:
    """Names clients upload to before renaming (``x.part``, WinSCP ``x.filepart``, ...)."""
    return name.lower().endswith(TEMP_SUFFIXES)


def resolve(path: bytes | str) -> VPath:
    """Client path -> VPath; raises JailError for anything else."""
    if isinstance(path, bytes):
        try:
            path = path.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JailError("path is not UTF-8") from exc
    if "\x00" in path or "\\" in path:
        raise JailError("forbidden character in path")
    norm = posixpath.normpath(posixpath.join("/", path))
    parts = [p for p in norm.split("/") if p]
    if not parts:
        return VPath(None, None)
    if parts[0] not in AREAS or len(parts) > 2:
        raise JailError(f"no such path: {norm}")
    if len(parts) == 1:
        return VPath(parts[0], None)
    if not safe_file_name(parts[1]):
        raise JailError(f"file name not allowed: {parts[1]!r}")
    return VPath(parts[0], parts[1])
