"""Fault injection for crash tests: ``CASSLINK_FAULT=<area>:<step>`` kills the process with
SIGKILL (no cleanup, no ``finally``) when it reaches that named step, as ``kill -9`` would.

Steps are named where the code calls :func:`checkpoint`; tests run a step's process, let it
die there, then retry without the fault. Unset (the normal case) it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "CASSLINK_FAULT"


def checkpoint(area: str, step: str) -> None:
    """Die here, like ``kill -9``, when ``CASSLINK_FAULT`` names ``area:step``."""
    if os.environ.get(ENV) == f"{area}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)
