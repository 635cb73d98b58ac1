"""Allocator tuning that an entry point may opt into (:func:`tune`); importing casslink never
changes how a process allocates.

numpy asks the kernel for transparent huge pages on every large array (``madvise``), and so
does Arrow's default allocator (mimalloc). Where the kernel's THP defrag setting is
``madvise`` (a common default), such a fault may first compact memory, and a huge page is
zeroed whole. casslink's large arrays are mostly buffers written once and handed on
(settlement tables, output files), for which that costs more than it saves. Measured on the
development machine with the 1,000,000-AWB benchmark period:

- numpy's hint: the HOT output files took 3.4-3.9 s with ordinary pages against 5.0-5.3 s;
- Arrow on the C library's allocator instead of mimalloc: the period's input records read
  in 0.33 s instead of 0.81 s the first time, the settlement took 2.0 s instead of 2.9 s and
  the process peaked at 3.0 GB instead of 3.5 GB. numpy and Arrow then also reuse each
  other's freed memory.

Only public switches are used: numpy reads ``NUMPY_MADVISE_HUGEPAGE`` once, when it is
imported, so :func:`tune` turns its hint off only if it runs before numpy is imported (and in
the processes started after it); Arrow's pool is set with ``pyarrow.set_memory_pool``. The
environment wins: ``NUMPY_MADVISE_HUGEPAGE=1`` keeps numpy's default, and
``ARROW_DEFAULT_MEMORY_POOL`` (mimalloc, jemalloc or system) chooses Arrow's allocator.
"""

from __future__ import annotations

import os
import sys


def tune() -> dict[str, str]:
    """Large arrays on ordinary pages, Arrow on the C library's allocator, in this process
    (as far as it still can: see the module's docstring) and the processes it starts, unless
    the environment says otherwise. Returns what holds: ``numpy_hugepage`` (``off``, ``on``,
    or ``unchanged`` where numpy was imported first) and ``arrow_pool``."""
    return {"numpy_hugepage": ordinary_pages(), "arrow_pool": system_allocator()}


def ordinary_pages() -> str:
    """numpy's huge-page hint off, through ``NUMPY_MADVISE_HUGEPAGE``, unless it is set."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return "off" if os.environ["NUMPY_MADVISE_HUGEPAGE"] == "0" else "on"
    os.environ["NUMPY_MADVISE_HUGEPAGE"] = "0"  # numpy reads it when imported
    return "unchanged" if "numpy" in sys.modules else "off"


def system_allocator() -> str:
    """Arrow allocates with the C library's allocator in this process (and the processes it
    starts), unless ARROW_DEFAULT_MEMORY_POOL says otherwise. Returns the allocator chosen."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return os.environ["ARROW_DEFAULT_MEMORY_POOL"]
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"  # read at Arrow's first allocation
    if "pyarrow" in sys.modules:  # Arrow may have chosen already
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return "system"
