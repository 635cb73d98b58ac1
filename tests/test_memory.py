"""Importing casslink changes nothing in the process; entry points opt into allocator tuning
(casslink.memory.tune), which the environment overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ENV = ("NUMPY_MADVISE_HUGEPAGE", "ARROW_DEFAULT_MEMORY_POOL")
STATE = ("import json, os, sys; import pyarrow as pa; pa.array([1]); "
         "print(json.dumps({'pool': pa.default_memory_pool().backend_name, "
         "'numpy_env': os.environ.get('NUMPY_MADVISE_HUGEPAGE')}))")


def _run(code: str, **env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ENV}
    out = subprocess.run([sys.executable, "-c", code], env=base | env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _default_pool() -> str:
    return _run(STATE)["pool"]


def test_importing_casslink_and_its_stages_changes_nothing():
    """Every module of the vocabulary and the output stage imported: Arrow keeps its default
    allocator and the environment is as it was."""
    imports = ("import casslink, casslink.kernels, casslink.memory, casslink.ordering, "
               "casslink.storage, outputs.deliver, outputs.hot_files, outputs.workers; ")
    assert _run(imports + STATE) == {"pool": _default_pool(), "numpy_env": None}


def test_the_package_and_the_output_formats_import_without_numpy_or_arrow():
    """``import casslink`` and the output formats (which a DAG file reads at parse time) load
    neither numpy nor Arrow."""
    code = ("import json, sys; import casslink; from outputs.formats import FORMATS; "
            "print(json.dumps([FORMATS, 'numpy' in sys.modules, 'pyarrow' in sys.modules]))")
    assert _run(code) == [["hot", "xlsx", "xml"], False, False]


@pytest.mark.parametrize("first", ["tune", "numpy"])
def test_tune_turns_huge_pages_off_and_arrow_onto_the_c_allocator(first):
    """tune() before numpy is imported turns its hint off (numpy reads the variable when
    imported); after, it says the hint is unchanged. Either way Arrow allocates with the C
    library, and processes started later inherit both."""
    code = ("import numpy; " if first == "numpy" else "") + \
        "from casslink.memory import tune; print(json.dumps(tune())); "
    got = subprocess.run([sys.executable, "-c", "import json; " + code + STATE],
                         env={k: v for k, v in os.environ.items() if k not in ENV},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    tuned, state = json.loads(got[0]), json.loads(got[1])
    assert tuned == {"numpy_hugepage": "off" if first == "tune" else "unchanged",
                     "arrow_pool": "system"}
    assert state == {"pool": "system", "numpy_env": "0"}


@pytest.mark.parametrize(("numpy_env", "pool"), [("1", "mimalloc"), ("0", "jemalloc")])
def test_the_environment_overrides_tune(numpy_env, pool):
    code = "import json; from casslink.memory import tune; print(json.dumps(tune()))"
    got = _run(code, NUMPY_MADVISE_HUGEPAGE=numpy_env, ARROW_DEFAULT_MEMORY_POOL=pool)
    assert got == {"numpy_hugepage": "on" if numpy_env == "1" else "off", "arrow_pool": pool}
