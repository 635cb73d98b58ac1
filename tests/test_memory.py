"""casslink processes ask for large arrays on ordinary pages unless the environment says."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = ("import casslink; from numpy._core.multiarray import _get_madvise_hugepage as hint; "
         "print(hint())")


@pytest.mark.parametrize(("setting", "expected"), [(None, "False"), ("1", "True"),
                                                   ("0", "False")])
def test_huge_page_hint_is_off_unless_the_environment_sets_it(setting, expected):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if setting is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = setting
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == expected



ARROW_FIRST = "import pyarrow as pa; pa.array([1]); import casslink; "  # Arrow allocated before
CASSLINK_FIRST = "import casslink; import pyarrow as pa; pa.array([1]); "
POOL = "print(pa.default_memory_pool().backend_name)"


@pytest.mark.parametrize(("setting", "probe", "expected"), [
    (None, CASSLINK_FIRST, "system"), (None, ARROW_FIRST, "system"),
    ("mimalloc", CASSLINK_FIRST, "mimalloc"), ("jemalloc", ARROW_FIRST, "jemalloc")])
def test_arrow_allocates_with_the_c_library_unless_the_environment_says(setting, probe,
                                                                        expected):
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if setting is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = setting
    out = subprocess.run([sys.executable, "-c", probe + POOL], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == expected
