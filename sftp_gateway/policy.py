"""Gateway limits and the audit log: size, quota, sessions, idle time, login lockout."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from casslink.login_policy import LockoutRules, LoginPolicy, utcnow

GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 2 * GiB
    daily_quota_bytes: int = 20 * GiB  # per participant, per UTC day
    max_sessions_per_user: int = 64
    idle_timeout_s: float = 900.0
    max_failures: int = 5  # failed logins within the window lock the user or the address
    failure_window_s: float = 600.0
    lockout_s: float = 900.0


class Lockout(LoginPolicy):
    """The shared login policy (``casslink.login_policy``) with the gateway's limits: failed
    logins counted per canonical login and per client address, in the project database."""

    def __init__(self, engine: Engine, limits: Limits,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(engine, LockoutRules(limits.max_failures, limits.failure_window_s,
                                              limits.lockout_s), clock)
        self.limits = limits


class Audit:
    """One JSON line per event in ``logs/gateway-audit.log``; callers never pass secrets."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._log = logging.getLogger(f"casslink.audit.{path}")
        self._log.propagate = False
        self._log.setLevel(logging.INFO)
        if not self._log.handlers:
            handler = logging.FileHandler(path)
            handler.setFormatter(logging.Formatter("%(message)s"))
            self._log.addHandler(handler)

    def __call__(self, event: str, **fields) -> None:
        fields = {k: v for k, v in fields.items() if k not in ("password", "secret")}
        self._log.info(json.dumps({"ts": round(time.time(), 3), "event": event, **fields},
                                  default=str))
