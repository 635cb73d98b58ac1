"""Signed session cookies: the session's data in the cookie, an HMAC-SHA256 over it with the
install's portal secret (``casslink.secrets.portal_secret``), an idle timeout and a maximum
age. The cookie holds ids and a CSRF token, never a password or an API token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "casslink_session"


@dataclass
class Session:
    """What a browser's cookie carries: the signed-in user (if any), the CSRF token, the
    chosen participant and language, and when it was issued and last seen."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user_id: int | None = None
    login: str | None = None
    participant: str | None = None
    language: str | None = None
    issued: float = 0.0
    seen: float = 0.0
    changed: bool = False

    def sign_in(self, user_id: int, login: str, now: float) -> None:
        """A fresh session for the user: new CSRF token (no fixation), timers restarted."""
        self.csrf, self.user_id, self.login = secrets.token_urlsafe(24), user_id, login
        self.participant, self.issued, self.seen, self.changed = None, now, now, True

    def sign_out(self) -> None:
        self.user_id = self.login = self.participant = None
        self.csrf, self.changed = secrets.token_urlsafe(24), True


class SessionCodec:
    """Encode and verify session cookies. ``idle_s``: inactivity before a signed-in session
    ends; ``max_age_s``: its longest life."""

    def __init__(self, secret: bytes, idle_s: float = 1800.0, max_age_s: float = 43200.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret, self.idle_s, self.max_age_s, self.clock = secret, idle_s, max_age_s, clock

    def _mac(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(
            hmac.new(self.secret, body, hashlib.sha256).digest()).decode().rstrip("=")

    def encode(self, s: Session) -> str:
        data = {"c": s.csrf, "u": s.user_id, "l": s.login, "p": s.participant,
                "g": s.language, "i": s.issued, "s": s.seen}
        body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        return f"{body.decode().rstrip('=')}.{self._mac(body.rstrip(b'='))}"

    def decode(self, cookie: str | None) -> Session:
        """The session of a cookie; a new anonymous one when it is missing, forged, or its
        sign-in expired (idle or too old)."""
        if not cookie or "." not in cookie:
            return Session(changed=True)
        body, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(self._mac(body.encode()), mac):
            return Session(changed=True)
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            s = Session(csrf=str(data["c"]), user_id=data["u"], login=data["l"],
                        participant=data["p"], language=data["g"], issued=float(data["i"]),
                        seen=float(data["s"]))
        except (ValueError, KeyError, TypeError):
            return Session(changed=True)
        now = self.clock()
        if s.user_id is not None:
            if now - s.seen > self.idle_s or now - s.issued > self.max_age_s:
                s.sign_out()
            elif now - s.seen > 60:  # refresh the idle timer (at most once a minute)
                s.seen, s.changed = now, True
        return s
