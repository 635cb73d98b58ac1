"""Storage primitives: atomic writes (temp file + fsync + rename), content addressing, and
files held as pieces of other buffers."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

IOV_MAX = 1024  # pieces per writev call (the POSIX minimum of IOV_MAX)


class Pieces:
    """A file's bytes held as pieces of other buffers, in order (memoryviews into rendered
    buffers, say): no copy is made until the file is written (:func:`atomic_write_bytes`
    writes the pieces as they are). ``bytes(p)`` joins them; a ``Pieces`` equals the bytes it
    joins to. :meth:`runs` holds runs of one buffer as offsets, not views."""

    __slots__ = ("_parts", "_runs", "size")

    def __init__(self, parts: Sequence[bytes | memoryview]) -> None:
        self._parts: list | None = list(parts)
        self._runs: tuple | None = None
        self.size = sum(map(len, self._parts))

    @classmethod
    def runs(cls, head: bytes, buffer: memoryview, starts: np.ndarray, ends: np.ndarray,
             tail: bytes) -> Pieces:
        """``head``, each run ``buffer[starts[i]:ends[i]]``, then ``tail``. The runs' views
        are made each time the parts are asked for, and dropped after: thousands of files of
        many runs each would otherwise hold an object per run, which the garbage collector
        walks over and over."""
        p = cls.__new__(cls)
        p._parts, p._runs = None, (head, buffer, starts, ends, tail)
        p.size = len(head) + len(tail) + int(ends.sum() - starts.sum())
        return p

    @property
    def parts(self) -> list[bytes | memoryview]:
        if self._parts is not None:
            return self._parts
        head, buffer, starts, ends, tail = self._runs
        return [head, *(buffer[a:z] for a, z in zip(starts.tolist(), ends.tolist(),
                                                     strict=True)), tail]

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Pieces | bytes | bytearray | memoryview):
            return len(self) == len(other) and bytes(self) == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Pieces({len(self.parts)} parts, {self.size} bytes)"


Data = bytes | memoryview | Pieces  # what a file to write can be


CHUNK = 1 << 20  # bytes per read when streaming a file


def sha256_of(source: Data | os.PathLike | str) -> str:
    """The sha256 (hex) of bytes in memory (pieces hashed in place) or of a file on disk
    (``Path``/``str``: read in chunks, never whole)."""
    h = hashlib.sha256()
    if isinstance(source, os.PathLike | str):
        with open(source, "rb") as fh:
            while block := fh.read(CHUNK):
                h.update(block)
        return h.hexdigest()
    for part in source.parts if isinstance(source, Pieces) else (source,):
        h.update(part)
    return h.hexdigest()


def write_all(fd: int, data: Data) -> None:
    """Write every byte of ``data`` to ``fd``: pieces with ``os.writev``, IOV_MAX at a time,
    where the platform has it, else one ``os.write`` per piece."""
    parts = [memoryview(p).cast("B") for p in (data.parts if isinstance(data, Pieces)
                                                else (data,)) if len(p)]
    i = 0
    while i < len(parts):
        done = os.writev(fd, parts[i:i + IOV_MAX]) if hasattr(os, "writev") else \
            os.write(fd, parts[i])
        if not done:
            raise OSError(errno.EIO, "a write made no progress")
        while i < len(parts) and done >= len(parts[i]):
            done -= len(parts[i])
            i += 1
        if done:  # a short write: go on from where it stopped
            parts[i] = parts[i][done:]


def atomic_write_bytes(path: Path, data: Data, mode: int = 0o644,
                       sync_dir: bool = False) -> Path:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one
    (``sync_dir``: the rename itself made durable too)."""
    return atomic_write_stream(path, lambda fh: write_all(fh.fileno(), data), mode, sync_dir)


def atomic_write_stream(path: Path, write: Callable[[BinaryIO], object],
                        mode: int = 0o644, sync_dir: bool = False) -> Path:
    """Like :func:`atomic_write_bytes` for content produced by ``write(fh)``: streamed into a
    hidden temp file beside ``path``, fsynced, renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=0) as fh:
            write(fh)
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)
    return path


def copy_hashed(source: Path, fh: BinaryIO, limit: int | None = None) -> tuple[str, int]:
    """Copy ``source`` into ``fh`` in chunks; returns (sha256, size). More than ``limit``
    bytes raises :class:`FileTooLarge` (checked before and while copying)."""
    h, size = hashlib.sha256(), 0
    with open(source, "rb") as src:
        if limit is not None and os.fstat(src.fileno()).st_size > limit:
            raise FileTooLarge(f"{source} is larger than {limit} bytes")
        while block := src.read(CHUNK):
            size += len(block)
            if limit is not None and size > limit:
                raise FileTooLarge(f"{source} is larger than {limit} bytes")
            h.update(block)
            write_all(fh.fileno(), block)
    return h.hexdigest(), size


class FileTooLarge(ValueError):
    """A file is over the size limit."""


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def content_path(root: Path, sha256: str) -> Path:
    """Where a blob with this digest lives in a content-addressed store."""
    return Path(root) / sha256[:2] / sha256
