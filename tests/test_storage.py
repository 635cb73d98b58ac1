"""Atomic writes of whole files and of files held as pieces (writev, or write where the
platform has no writev; short writes), and the sha256 of pieces."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from casslink import storage
from casslink.storage import IOV_MAX, Pieces, atomic_write_bytes, sha256_of


def _pieces(n: int) -> tuple[Pieces, bytes]:
    """``n`` pieces of mixed kinds (bytes, numpy views, empty ones) and what they join to."""
    rng = np.random.default_rng(n)
    buf = rng.integers(0, 256, 50_000, dtype=np.uint8)
    parts, whole = [], []
    for i in range(n):
        a = int(rng.integers(0, len(buf) - 40))
        part = memoryview(buf)[a:a + int(rng.integers(0, 40))] if i % 3 else \
            bytes(rng.integers(0, 256, i % 7, dtype=np.uint8))
        parts.append(part)
        whole.append(bytes(part))
    return Pieces(parts), b"".join(whole)


def test_pieces_are_the_bytes_they_join_to():
    p, joined = _pieces(50)
    assert len(p) == len(joined) and bytes(p) == joined
    assert p == joined and joined == p and p == memoryview(joined) and p == Pieces([joined])
    assert p != joined + b"x" and p != joined[:-1] + b"\0" and p != "text"
    with pytest.raises(TypeError):
        hash(p)
    assert sha256_of(p) == hashlib.sha256(joined).hexdigest() == sha256_of(joined)


@pytest.mark.parametrize("n", [0, 1, 2 * IOV_MAX + 3])
def test_runs_of_one_buffer_are_the_bytes_they_join_to(tmp_path, n):
    """Pieces.runs: a head, runs of a buffer (given as offsets, empty ones too), a tail."""
    rng = np.random.default_rng(n)
    buf = rng.integers(0, 256, 10_000, dtype=np.uint8)
    starts = rng.integers(0, 9_000, n)
    ends = starts + rng.integers(0, 1_000, n)
    body = b"".join(buf[a:z].tobytes() for a, z in zip(starts, ends, strict=True))
    joined = b"head" + body + b"tail"
    p = Pieces.runs(b"head", memoryview(buf), starts, ends, b"tail")
    assert len(p) == len(joined) and bytes(p) == joined and p == Pieces([joined])
    assert len(p.parts) == n + 2 and sha256_of(p) == hashlib.sha256(joined).hexdigest()
    assert atomic_write_bytes(tmp_path / "f", p).read_bytes() == joined


@pytest.mark.parametrize("n", [0, 1, IOV_MAX - 1, IOV_MAX, 3 * IOV_MAX + 5])
def test_pieces_are_written_whole(tmp_path, n):
    p, joined = _pieces(n)
    path = atomic_write_bytes(tmp_path / "out" / "f.hot", p)
    assert path.read_bytes() == joined
    assert os.listdir(path.parent) == ["f.hot"]  # no temp file left


def test_short_writes_go_on_where_they_stopped(tmp_path, monkeypatch):
    p, joined = _pieces(2 * IOV_MAX + 3)
    real = os.writev
    sizes = iter([1, 7, 13, 100, 5000] * 10_000)

    def short(fd, buffers):  # writes a few bytes at most, as a full disk or a signal might
        limit = next(sizes)
        data = b"".join(bytes(b) for b in buffers)[:limit]
        return real(fd, [data])

    monkeypatch.setattr(storage.os, "writev", short)
    assert atomic_write_bytes(tmp_path / "f", p).read_bytes() == joined
    assert atomic_write_bytes(tmp_path / "g", joined).read_bytes() == joined
    monkeypatch.setattr(storage.os, "writev", lambda fd, buffers: 0)
    with pytest.raises(OSError, match="no progress"):
        atomic_write_bytes(tmp_path / "h", joined)


def test_a_failed_write_leaves_neither_file_nor_temp(tmp_path, monkeypatch):
    (tmp_path / "f").write_bytes(b"old")

    def fail(fd, buffers):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "writev", fail)
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "f", Pieces([b"new", b"er"]))
    assert os.listdir(tmp_path) == ["f"] and (tmp_path / "f").read_bytes() == b"old"


@pytest.mark.parametrize("n", [0, 1, 2 * IOV_MAX + 3])
def test_without_writev_pieces_are_written_whole_one_write_at_a_time(tmp_path, monkeypatch, n):
    """A platform without os.writev (Windows): one os.write per piece, short writes too."""
    p, joined = _pieces(n)
    real, sizes, calls = os.write, iter([1, 7, 13, 100, 5000] * 10_000), []

    def short(fd, data):
        calls.append(len(data))
        return real(fd, bytes(data)[:next(sizes)])

    monkeypatch.delattr(storage.os, "writev")
    monkeypatch.setattr(storage.os, "write", short)
    assert atomic_write_bytes(tmp_path / "f", p).read_bytes() == joined
    assert len(calls) >= sum(1 for part in p.parts if len(part))
