"""The login policy every door into casslink shares (the SFTP gateway; the portal later).

One canonical form of a login, used both to find the account and to count failures; and a
lockout per canonical login and per client address, kept in the project database
(``login_lockouts``) so that it survives a restart and holds across processes. Time comes from
an injectable clock. Nothing here sees a password.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from casslink.db.engine import session_scope
from casslink.db.models import LoginLockout

log = logging.getLogger("casslink.login_policy")
LOGIN_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")
KEY_MAX = 200  # LoginLockout.key


class InvalidLogin(ValueError):
    """A login that does not canonicalise to a valid login."""


def canonical_login(raw: str) -> str:
    """The canonical form of a login as typed: ASCII only, surrounding whitespace dropped,
    lower case, then 2-63 characters of a-z, 0-9, '.', '_', '-' (first a letter or digit).

    Raises InvalidLogin otherwise. Account lookup and failure counting both go through here,
    so every variant that reaches an account is counted against that same account.
    """
    login = raw.strip().lower() if raw.isascii() else ""
    if not LOGIN_RE.fullmatch(login):
        raise InvalidLogin("a login is 2-63 characters: a-z, 0-9, '.', '_', '-'")
    return login


def login_or_none(raw: str) -> str | None:
    """``canonical_login`` or None for a login that cannot exist."""
    try:
        return canonical_login(raw)
    except InvalidLogin:
        return None


def user_key(login: str) -> str:
    """The counter key of a canonical login."""
    return f"user:{login}"


def addr_key(addr: str) -> str:
    """The counter key of a client address: an IPv4 address (also when IPv4-mapped), or the
    /64 network of an IPv6 address (one host usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return f"addr:{addr}"[:KEY_MAX]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is None:
            return f"addr:{ipaddress.IPv6Network((ip, 64), strict=False)}"
        ip = ip.ipv4_mapped
    return f"addr:{ip}"


@dataclass(frozen=True)
class LockoutRules:
    """``max_failures`` failed logins within ``failure_window_s`` of the first of them lock
    the login or the address for ``lockout_s``."""

    max_failures: int = 5
    failure_window_s: float = 600.0
    lockout_s: float = 900.0


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


class LoginPolicy:
    """Failed-login counters per canonical login and per client address, in the database.

    Callers pass the login as the client sent it; the policy canonicalises it itself. A login
    that cannot be canonicalised is counted against the address only. The order for one
    attempt: ``locked`` (before any password hashing), then ``failure`` or, once the login is
    complete, ``success``.
    """

    def __init__(self, engine: Engine, rules: LockoutRules | None = None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine, self.rules, self.clock = engine, rules or LockoutRules(), clock
        self._pruned_at: dt.datetime | None = None

    def keys(self, login: str | None, addr: str) -> list[str]:
        """The counter keys one attempt touches, sorted (rows are locked in this order)."""
        canon = login_or_none(login) if login is not None else None
        return sorted({addr_key(addr)} | ({user_key(canon)} if canon else set()))

    def locked(self, login: str | None, addr: str) -> list[str]:
        """The keys of this attempt that are locked now (empty: go ahead)."""
        keys, now = self.keys(login, addr), self._now()
        with session_scope(self.engine) as s:
            rows = s.execute(select(LoginLockout.key, LoginLockout.locked_until)
                             .where(LoginLockout.key.in_(keys))).all()
        return sorted(k for k, until in rows if until is not None and _aware(until) > now)

    def failure(self, login: str | None, addr: str) -> list[str]:
        """Count one failed attempt against the login and the address; returns the keys that
        became locked by it. Each lock starts a fresh count for when it ends."""
        keys, now, rules = self.keys(login, addr), self._now(), self.rules
        window = dt.timedelta(seconds=rules.failure_window_s)
        newly: list[str] = []
        self._prune(now)
        with session_scope(self.engine) as s:
            self._insert_missing(s, keys)
            rows = s.scalars(select(LoginLockout).where(LoginLockout.key.in_(keys))
                             .order_by(LoginLockout.key).with_for_update()).all()
            for row in rows:
                start, until = _aware(row.window_start), _aware(row.locked_until)
                if start is None or now - start >= window:
                    row.failures, row.window_start = 0, now
                row.failures += 1
                if row.failures >= rules.max_failures and not (until and until > now):
                    row.locked_until = now + dt.timedelta(seconds=rules.lockout_s)
                    row.failures, row.window_start = 0, None
                    newly.append(row.key)
        return newly

    def success(self, login: str) -> None:
        """A completed login resets that login's own count - never its address's, never
        another login's. A lock still running (a race) stays."""
        canon = canonical_login(login)
        now = self._now()
        with session_scope(self.engine) as s:
            s.execute(delete(LoginLockout).where(
                LoginLockout.key == user_key(canon),
                or_(LoginLockout.locked_until.is_(None), LoginLockout.locked_until <= now)))

    def unlock(self, login: str | None = None, addr: str | None = None) -> list[str]:
        """Operator action: forget the count and any lock of a login and/or an address;
        returns the keys that had one."""
        keys = ([user_key(canonical_login(login))] if login is not None else []) + \
            ([addr_key(addr)] if addr is not None else [])
        with session_scope(self.engine) as s:
            found = sorted(s.scalars(select(LoginLockout.key)
                                     .where(LoginLockout.key.in_(keys))))
            s.execute(delete(LoginLockout).where(LoginLockout.key.in_(keys)))
        return found

    def _now(self) -> dt.datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the lockout clock must return timezone-aware datetimes")
        return now.astimezone(dt.UTC)

    def _prune(self, now: dt.datetime) -> None:
        """Drop counters that no longer matter (window over, no lock running): at most once
        a minute per policy object, in a transaction of its own, best effort (a concurrent
        prune may collide with it; the next one catches up)."""
        if self._pruned_at is not None and now - self._pruned_at < dt.timedelta(minutes=1):
            return
        self._pruned_at = now
        stale = now - dt.timedelta(seconds=self.rules.failure_window_s)
        try:
            with session_scope(self.engine) as s:
                s.execute(delete(LoginLockout).where(
                    or_(LoginLockout.locked_until.is_(None), LoginLockout.locked_until <= now),
                    or_(LoginLockout.window_start.is_(None),
                        LoginLockout.window_start <= stale)))
        except DBAPIError:
            log.warning("pruning login_lockouts failed; a later failure tries again",
                        exc_info=True)

    @staticmethod
    def _insert_missing(s: Session, keys: list[str]) -> None:
        """Create the counters that do not exist yet; concurrent attempts never collide."""
        dialect = s.get_bind().dialect.name
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
        if insert is None:  # another database: plain inserts (no concurrent-writer guarantee)
            have = set(s.scalars(select(LoginLockout.key).where(LoginLockout.key.in_(keys))))
            s.add_all(LoginLockout(key=k, failures=0) for k in keys if k not in have)
            s.flush()
            return
        s.execute(insert(LoginLockout).values([{"key": k, "failures": 0} for k in keys])
                  .on_conflict_do_nothing(index_elements=["key"]))
