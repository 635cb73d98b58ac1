"""Gateway limits and the audit log: size, quota, sessions, idle time, login lockout."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

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


class Lockout:
    """Failed-login counters per login and per client address (in memory, per gateway)."""

    def __init__(self, limits: Limits, clock=time.monotonic) -> None:
        self.limits, self.clock = limits, clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._locked_until: dict[str, float] = {}

    def locked(self, *keys: str) -> bool:
        now = self.clock()
        return any(self._locked_until.get(k, 0) > now for k in keys)

    def failure(self, *keys: str) -> list[str]:
        """Record a failure; returns the keys that became locked."""
        now, newly = self.clock(), []
        for k in keys:
            q = self._failures[k]
            q.append(now)
            while q and q[0] < now - self.limits.failure_window_s:
                q.popleft()
            if len(q) >= self.limits.max_failures and self._locked_until.get(k, 0) <= now:
                self._locked_until[k] = now + self.limits.lockout_s
                newly.append(k)
        return newly

    def success(self, *keys: str) -> None:
        for k in keys:
            self._failures.pop(k, None)


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
