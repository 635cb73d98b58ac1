"""How casslink's processes ask for memory: large arrays on ordinary pages.

numpy asks the kernel for transparent huge pages on every large array (``madvise``). Where the
kernel's THP defrag setting is ``madvise`` (a common default), such a fault may first compact
memory, and a huge page is zeroed whole. casslink's large arrays are mostly buffers written
once and handed on (settlement tables, output files), for which that costs more than it saves:
the HOT output files of the 1,000,000-AWB benchmark period took 3.4-3.9 s with ordinary pages
against 5.0-5.3 s with huge pages on the development machine. ``NUMPY_MADVISE_HUGEPAGE=1`` in
the environment keeps numpy's default.
"""

from __future__ import annotations

import os


def ordinary_pages() -> bool:
    """Turn numpy's huge-page hint off for this process, unless NUMPY_MADVISE_HUGEPAGE is set
    (numpy read it at import). Returns whether the hint is off."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return os.environ["NUMPY_MADVISE_HUGEPAGE"] == "0"
    from numpy._core import multiarray

    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is None:  # a numpy without the switch
        return False
    setter(False)
    return True
