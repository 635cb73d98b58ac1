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
files (a list of (key, bytes)) comes back in shared memory: the worker writes the files to a
memfd, the parent maps it (through /proc/<worker>/fd) and hands out views, instead of
pickling them through a pipe (three copies of every byte: a quarter of the agents' workbooks'
time). Where ``fork`` is not available, or there is a single chunk, chunks render on threads.
"""

from __future__ import annotations

import gc
import itertools
import mmap
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import NamedTuple, TypeVar

from casslink.storage import Pieces, write_all

T = TypeVar("T")
WORKERS = 2  # threads or worker processes per batch
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
    try:
        with ProcessPoolExecutor(min(workers, len(chunks)),
                                 mp_context=multiprocessing.get_context("fork"),
                                 initializer=gc.disable) as pool:
            for done in pool.map(_render, [(token, c) for c in chunks]):
                yield _unshared(done)
    finally:
        gc.unfreeze()
        del _RENDERERS[token]


def _render(job: tuple[int, tuple[int, int]]):
    token, chunk = job
    return _shared(_RENDERERS[token](chunk))


class _Shared(NamedTuple):
    """A chunk's files in a worker's memfd (kept open while the worker lives)."""

    pid: int
    fd: int
    keys: list
    sizes: list[int]


def _shared(out):
    """A worker's chunk: files (a list of (key, bytes)) written to a memfd, else as it is."""
    if not (out and isinstance(out, list) and hasattr(os, "memfd_create")
            and os.path.isdir(f"/proc/{os.getpid()}/fd")
            and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], bytes)
                    for x in out)):
        return out
    fd = os.memfd_create("casslink-chunk", os.MFD_CLOEXEC)
    write_all(fd, Pieces([data for _, data in out]))
    return _Shared(os.getpid(), fd, [k for k, _ in out], [len(data) for _, data in out])


def _unshared(done):
    """The parent's side of :func:`_shared`: (key, view) pairs of the worker's memfd, mapped
    read-only (it is freed when the views are)."""
    if not isinstance(done, _Shared):
        return done
    fd = os.open(f"/proc/{done.pid}/fd/{done.fd}", os.O_RDONLY)
    try:
        total = sum(done.sizes)
        view = memoryview(mmap.mmap(fd, total, prot=mmap.PROT_READ)) if total else \
            memoryview(b"")
    finally:
        os.close(fd)
    out, at = [], 0
    for key, size in zip(done.keys, done.sizes, strict=True):
        out.append((key, view[at:at + size]))
        at += size
    return out
