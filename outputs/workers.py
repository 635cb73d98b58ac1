"""Rendering the chunks of a batch side by side: on threads, or on forked worker processes.

Outputs are rendered in chunks of participants. Where a chunk's work is mostly C that releases
the GIL (row kernels, deflate of large sheets), threads run side by side. Where it is mostly
Python per file (the agents' workbooks: about 120,000 small sheets), threads barely do;
forked workers do, and they inherit the loaded tables (copy-on-write) instead of reading them
again; only each chunk's rendered files travel back, so a batch of large files (the XML
statements) is better kept on threads. The parent's objects are frozen out of the garbage
collector while workers fork (``gc.freeze``, as the Python docs advise before ``fork``), and
the workers, which live for one batch, do not collect at all: rendering makes no cycles, and
collections would walk, and copy, the pages of what the workers inherited. A chunk rendered to
files (a list of (key, bytes)) comes back through a file: the worker writes the files one
after the other to a temporary file (in memory, ``/dev/shm``, where the system has it) and
returns its path and their sizes; the parent maps it read-only, removes it, and hands out
views of the mapping, instead of the files being pickled through a pipe (three copies of
every byte: a quarter of the agents' workbooks' time).
Where ``fork`` is not available, or there is a single chunk, chunks render on threads.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import mmap
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import NamedTuple, TypeVar

from casslink.storage import Pieces, write_all

T = TypeVar("T")
WORKERS = 2  # threads or worker processes per batch
SCRATCH = "/dev/shm"  # the chunks' files: a folder in memory where there is one, else $TMPDIR
_RENDERERS: dict[int, Callable] = {}  # what forked workers call, by token
_TOKENS = itertools.count()


def map_chunks(render: Callable[[tuple[int, int]], T], chunks: Sequence[tuple[int, int]],
               processes: bool = False, workers: int = WORKERS) -> Iterator[T]:
    """``render(chunk)`` for every chunk, in order, on ``workers`` threads or (``processes``)
    forked processes."""
    if not (processes and workers > 1 and len(chunks) > 1
            and "fork" in multiprocessing.get_all_start_methods()):
        with ThreadPoolExecutor(max(1, workers)) as threads:
            yield from threads.map(render, chunks)
        return
    token = next(_TOKENS)
    _RENDERERS[token] = render  # registered before the workers fork, so they inherit it
    gc.freeze()
    futures: list[Future | None] = []
    try:
        with ProcessPoolExecutor(min(workers, len(chunks)),
                                 mp_context=multiprocessing.get_context("fork"),
                                 initializer=gc.disable) as pool:
            futures = [pool.submit(_render, (token, c)) for c in chunks]
            try:
                for i, done in enumerate(futures):
                    futures[i] = None
                    yield _unshared(done.result())
            finally:  # a batch that stops early: the chunks not begun are not rendered
                for left in futures:
                    if left is not None:
                        left.cancel()
    finally:
        gc.unfreeze()
        del _RENDERERS[token]
        for left in futures:  # ... and the files of those rendered but not taken are removed
            if left is not None and not left.cancelled() and left.exception() is None:
                _discard(left.result())


def _render(job: tuple[int, tuple[int, int]]):
    token, chunk = job
    return _shared(_RENDERERS[token](chunk))


class _Shared(NamedTuple):
    """A chunk's files, one after the other in a temporary file."""

    path: str
    keys: list
    sizes: list[int]


def _shared(out):
    """A worker's chunk: files (a list of (key, bytes)) written to a temporary file, else as
    it is."""
    if not (out and isinstance(out, list)
            and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], bytes)
                    for x in out)):
        return out
    fd, path = tempfile.mkstemp(prefix="casslink-chunk-", dir=_scratch())
    try:
        write_all(fd, Pieces([data for _, data in out]))
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(fd)
    return _Shared(path, [k for k, _ in out], [len(data) for _, data in out])


def _scratch() -> str | None:
    """Where a chunk's file goes: :data:`SCRATCH` if it is a folder this process may write
    to, else the temporary folder (None)."""
    return SCRATCH if os.path.isdir(SCRATCH) and os.access(SCRATCH, os.W_OK) else None


def _unshared(done):
    """The parent's side of :func:`_shared`: (key, view) pairs of the chunk's file, mapped
    read-only; the file is removed at once (its pages are freed when the views are)."""
    if not isinstance(done, _Shared):
        return done
    try:
        total = sum(done.sizes)
        with open(done.path, "rb") as fh:
            view = memoryview(mmap.mmap(fh.fileno(), total, access=mmap.ACCESS_READ)) \
                if total else memoryview(b"")
    finally:
        _discard(done)
    out, at = [], 0
    for key, size in zip(done.keys, done.sizes, strict=True):
        out.append((key, view[at:at + size]))
        at += size
    return out


def _discard(done) -> None:
    if isinstance(done, _Shared):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(done.path)
