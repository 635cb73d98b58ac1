"""Rendering the chunks of a batch side by side: on threads, or on forked worker processes.

Outputs are rendered in chunks of participants. Where a chunk's work is mostly C that releases
the GIL (row kernels, deflate of large sheets), threads run side by side. Where it is mostly
Python per file (the agents' workbooks: about 120,000 small sheets), threads barely do;
forked workers do, and they inherit the loaded tables (copy-on-write) instead of reading them
again; only each chunk's rendered files travel back, so a batch of large files (the XML
statements) is better kept on threads. The parent's objects are frozen out of the garbage
collector while workers fork (``gc.freeze``, as the Python docs advise before ``fork``), and
the workers, which live for one batch, do not collect at all: rendering makes no cycles, and
collections would walk, and copy, the pages of what the workers inherited. Where ``fork`` is
not available, or there is a single chunk, chunks render on threads.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

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
            yield from pool.map(_render, [(token, c) for c in chunks])
    finally:
        gc.unfreeze()
        del _RENDERERS[token]


def _render(job: tuple[int, tuple[int, int]]):
    token, chunk = job
    return _RENDERERS[token](chunk)
