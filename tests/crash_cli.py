"""The ``casslink`` command in a child process on a test's data root, optionally killed at a
named step (``CASSLINK_FAULT``, :mod:`casslink.faults`): the crash tests' way to ``kill -9``
a real run, then retry it without the fault."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXE = Path(sys.executable).parent / "casslink"


def fault_env(settings, fault: str | None) -> dict[str, str]:
    """The environment of a child on ``settings``' data root and database, dying at
    ``fault`` (none: an inherited ``CASSLINK_FAULT`` is dropped)."""
    env = {**os.environ, "CASSLINK_HOME": str(settings.home), "CASSLINK_DB_URL": settings.db_url}
    env.pop("CASSLINK_FAULT", None)
    if fault:
        env["CASSLINK_FAULT"] = fault
    return env


def casslink(settings, *args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    """Run ``casslink *args`` to its end (or its fault), capturing its output."""
    return subprocess.run([str(EXE), *args], capture_output=True, text=True,
                          env=fault_env(settings, fault), timeout=300)
