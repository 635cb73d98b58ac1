"""Sign in and out (the gateway's accounts, argon2 passwords and shared lockout policy), the
language picker and the one-click participant switch."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session as DbSession

from casslink import i18n
from casslink.db.models import User
from casslink.portal.deps import DB, Principal, current_user
from casslink.portal.rendering import render
from casslink.sftp_gateway import accounts

router = APIRouter()
log = logging.getLogger("casslink.portal")


def _safe_next(target: str | None) -> str:
    """Only same-site paths (never ``//host`` or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/"):
    return render(request, "login.html", next=_safe_next(next))


@router.post("/login", include_in_schema=False)
def login(request: Request, login: str = Form(...), password: str = Form(...),
          next: str = Form("/")):
    """Check the password like the gateway does; a locked login or address, a wrong password
    and an unknown login all get the same answer."""
    app = request.app
    addr = request.client.host if request.client else "unknown"
    if not app.state.login_rate.hit(addr):
        return render(request, "login.html", status_code=429, next=_safe_next(next),
                      error="too_many")
    policy = app.state.policy
    if policy.locked(login, addr):
        log.info("portal login refused (locked) addr=%s", addr)
        return render(request, "login.html", status_code=401, next=_safe_next(next),
                      error="failed")
    creds = accounts.credentials(app.state.engine, login)
    if not accounts.verify_password(creds, password) or creds is None:
        policy.failure(login, addr)
        log.info("portal login failed addr=%s", addr)
        return render(request, "login.html", status_code=401, next=_safe_next(next),
                      error="failed")
    policy.success(creds.login)
    from casslink.db.engine import session_scope

    with session_scope(app.state.engine) as s:
        user_id = s.query(User.id).filter(User.login == creds.login).scalar()
    request.state.session.sign_in(user_id, creds.login, app.state.codec.clock())
    log.info("portal login ok user=%s addr=%s", creds.login, addr)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request):
    request.state.session.sign_out()
    return RedirectResponse("/login", status_code=303)


@router.post("/language", include_in_schema=False)
def set_language(request: Request, language: str = Form(...), next: str = Form("/"),
                 s: DbSession = DB):
    """Choose the language (kept on the user when signed in, else in the session)."""
    if language in i18n.LANGUAGES:
        session = request.state.session
        session.language, session.changed = language, True
        if session.user_id is not None:
            user = s.get(User, session.user_id)
            if user is not None and user.login == session.login:
                user.language = language
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/switch", include_in_schema=False)
def switch(request: Request, participant: str = Form(...), next: str = Form("/"),
           p: Principal = Depends(current_user)):
    """One-click switch of the participant (and so the operation) every page shows."""
    p.require("view", participant)
    session = request.state.session
    session.participant, session.changed = participant, True
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/", include_in_schema=False)
def home(p: Principal = Depends(current_user)):
    return RedirectResponse("/me", status_code=303)
