"""Request dependencies: the database session, the signed-in user (cookie or bearer token) as
a :class:`Principal`, and ``require_right``. Every route that shows or changes data takes a
Principal and asks it (``can`` / ``require``) for the participant it touches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session as DbSession

from casslink import access
from casslink.db.engine import end_session, new_session
from casslink.db.models import User
from casslink.i18n import negotiate


class LoginRequired(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user, their company, grants and whether they are an operator.
    ``scopes`` (a token's) narrow the rights; None for a browser session."""

    user_id: int
    login: str
    company_id: int | None
    role: str
    operator: bool
    grants: tuple[access.Grant, ...]
    scopes: frozenset[str] | None
    language: str

    def rights_for(self, participant_code: str, operation: str | None = None) -> frozenset:
        if self.operator:
            have = frozenset(access.RIGHTS)
        else:
            have = frozenset().union(*(g.rights for g in self.grants
                                       if g.code == participant_code
                                       and (operation is None or g.operation is None
                                            or g.operation == operation)))
        return have if self.scopes is None else have & self.scopes

    def can(self, right: str, participant_code: str, operation: str | None = None) -> bool:
        return right in self.rights_for(participant_code, operation)

    def require(self, right: str, participant_code: str, operation: str | None = None) -> None:
        """403 unless the user holds ``right`` for the participant."""
        if not self.can(right, participant_code, operation):
            raise HTTPException(403, "not permitted for this participant")

    def codes_with(self, right: str) -> list[str]:
        """The participant codes of the user's grants carrying ``right``."""
        return sorted({g.code for g in self.grants if self.can(right, g.code, g.operation)})

    @property
    def is_admin(self) -> bool:
        """A company admin: ``admin`` on at least one grant (or an operator)."""
        return self.operator or bool(self.codes_with("admin"))


async def db(request: Request) -> AsyncIterator[DbSession]:
    """One transaction per request, committed when the route returns without error. Routes
    depend on it with ``scope="function"``: the commit happens before the response is sent,
    so a client never gets a success for a change that then fails to commit, and reads its
    own writes (tests/test_portal_auth.py checks every route).

    Async: the session is made on the event loop (no I/O - it connects on its first query,
    in the route's thread), and only its commit or rollback runs in the threadpool - a sync
    dependency would take a thread hop to open it too. The end runs on a thread of its own
    (a limiter of one, as FastAPI ends a sync dependency), not one of the request pool's: a
    finished request holding a connection must not wait behind routes that hold every pool
    thread waiting for a connection; and shielded, so a cancelled request still ends its
    transaction and returns its connection."""
    s = new_session(request.app.state.engine)
    commit = False
    try:
        yield s
        commit = True
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(end_session, s, commit,
                                           limiter=anyio.CapacityLimiter(1))


DB = Depends(db, scope="function")
"""The request's database session, committed before the response is sent (see ``db``)."""


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def load_principal(s: DbSession, user: User, operator: bool, scopes: frozenset[str] | None,
                   language: str) -> Principal:
    return Principal(user.id, user.login, user.company_id, user.role, operator,
                     tuple(access.grants_of(s, user)), scopes, language)


def current_user(request: Request, s: DbSession = DB) -> Principal:
    """The signed-in user: a bearer token (``/api`` only) or the session cookie. A disabled
    or removed user, a revoked token or an expired session is LoginRequired."""
    token = _bearer(request) if request.url.path.startswith("/api/") else None
    accept = request.headers.get("accept-language")
    if token is not None:
        row = access.token_row(s, token)
        user, operator = access.user_and_operator(s, row.user_id) if row else (None, False)
        if row is None or user is None or user.disabled:
            raise LoginRequired()
        p = load_principal(s, user, operator, access.parse_rights(row.scopes),
                           negotiate(user.language, accept))
    else:
        session = request.state.session
        user, operator = (access.user_and_operator(s, session.user_id)
                          if session.user_id is not None else (None, False))
        if user is None or user.disabled or user.login != session.login:
            if session.user_id is not None:
                session.sign_out()
            raise LoginRequired()
        p = load_principal(s, user, operator, None,
                           negotiate(user.language or session.language, accept))
    request.state.principal = p
    return p


def require_right(right: str):
    """A dependency: the Principal, when it holds ``right`` for the ``participant`` query
    parameter (or, without one, for at least one of its grants); else 403."""

    def dep(request: Request, p: Principal = Depends(current_user)) -> Principal:
        code = request.query_params.get("participant")
        if code is not None:
            p.require(right, code, request.query_params.get("operation") or None)
        elif not p.operator and not p.codes_with(right):
            raise HTTPException(403, f"no grant with the right {right!r}")
        return p

    return dep


def selected_participant(request: Request, p: Principal, right: str = "view") -> str | None:
    """The participant this page is about: ``?participant=``, else the one chosen with the
    switcher, else the first grant holding ``right``. 403 for one the user may not see."""
    code = request.query_params.get("participant") or request.state.session.participant
    if code:
        p.require(right, code)
        return code
    codes = [g.code for g in p.grants if p.can(right, g.code, g.operation)]
    return codes[0] if codes else None  # the first grant, as the switcher lists them
