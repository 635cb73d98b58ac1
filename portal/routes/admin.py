"""Company admin: users of the admin's company and the audit log (API and pages)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session as DbSession

from casslink import access
from casslink.portal import admin
from casslink.portal.deps import DB, Principal, current_user
from casslink.portal.rendering import render

router = APIRouter()


class NewUser(BaseModel):
    login: str
    password: str
    grants: dict[str, list[str]]


class GrantIn(BaseModel):
    participant: str
    rights: list[str]


class PasswordIn(BaseModel):
    password: str


class KeyIn(BaseModel):
    key: str


@router.get("/api/v1/admin/users", tags=["admin"])
def api_users(p: Principal = Depends(current_user), s: DbSession = DB) -> list[dict]:
    """Your company's users, their grants and rights (company admins and operators)."""
    return admin.users(s, p)


@router.post("/api/v1/admin/users", tags=["admin"], status_code=201)
def api_create(body: NewUser, p: Principal = Depends(current_user),
               s: DbSession = DB) -> dict:
    """Create a user of your company with grants (participant -> rights) within yours."""
    return admin.create_user(s, p, body.login, body.password, body.grants)


@router.post("/api/v1/admin/users/{login}/disable", tags=["admin"])
def api_disable(login: str, p: Principal = Depends(current_user),
                s: DbSession = DB) -> dict:
    """Disable a user (kept for the audit trail; no further sign-in, SFTP or API)."""
    return admin.disable_user(s, p, login)


@router.put("/api/v1/admin/users/{login}/grants", tags=["admin"])
def api_grant(login: str, body: GrantIn, p: Principal = Depends(current_user),
              s: DbSession = DB) -> dict:
    """Set a user's rights on a participant (an empty list revokes the grant)."""
    return admin.set_grant(s, p, login, body.participant, body.rights)


@router.post("/api/v1/admin/users/{login}/password", tags=["admin"])
def api_password(login: str, body: PasswordIn, p: Principal = Depends(current_user),
                 s: DbSession = DB) -> dict:
    """Reset a user's password (12+ characters)."""
    return admin.reset_password(s, p, login, body.password)


@router.post("/api/v1/admin/users/{login}/keys", tags=["admin"])
def api_key(login: str, body: KeyIn, p: Principal = Depends(current_user),
            s: DbSession = DB) -> dict:
    """Add OpenSSH public keys (authorized_keys lines) to a user's SFTP login."""
    return admin.add_key(s, p, login, body.key)


@router.get("/api/v1/admin/audit", tags=["admin"])
def api_audit(p: Principal = Depends(current_user), s: DbSession = DB) -> list[dict]:
    """Your company's audit log, newest first (operators: every company's)."""
    return admin.audit_log(s, p)


def _page(request: Request, s: DbSession, p: Principal, **extra):
    admin_codes = [g.code for g in p.grants if p.can("admin", g.code)]
    return render(request, "admin_users.html", users=admin.users(s, p), rights=access.RIGHTS,
                  admin_codes=admin_codes, **extra)


@router.get("/admin/users", include_in_schema=False)
def users_page(request: Request, p: Principal = Depends(current_user),
               s: DbSession = DB):
    return _page(request, s, p, done=request.query_params.get("done"))


def _back(what: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?done={what}", status_code=303)


@router.post("/admin/users", include_in_schema=False)
def users_create(login: str = Form(...), password: str = Form(...),
                 participant: str = Form(...), rights: list[str] = Form([]),
                 p: Principal = Depends(current_user), s: DbSession = DB):
    admin.create_user(s, p, login, password, {participant: rights})
    return _back("created")


@router.post("/admin/users/{login}/disable", include_in_schema=False)
def users_disable(login: str, p: Principal = Depends(current_user),
                  s: DbSession = DB):
    admin.disable_user(s, p, login)
    return _back("disabled")


@router.post("/admin/users/{login}/grants", include_in_schema=False)
def users_grant(login: str, participant: str = Form(...), rights: list[str] = Form([]),
                p: Principal = Depends(current_user), s: DbSession = DB):
    admin.set_grant(s, p, login, participant, rights)
    return _back("granted")


@router.post("/admin/users/{login}/password", include_in_schema=False)
def users_password(login: str, password: str = Form(...),
                   p: Principal = Depends(current_user), s: DbSession = DB):
    admin.reset_password(s, p, login, password)
    return _back("password")


@router.post("/admin/users/{login}/keys", include_in_schema=False)
def users_key(login: str, key: str = Form(...), p: Principal = Depends(current_user),
              s: DbSession = DB):
    admin.add_key(s, p, login, key)
    return _back("key")


@router.get("/admin/audit", include_in_schema=False)
def audit_page(request: Request, p: Principal = Depends(current_user),
               s: DbSession = DB):
    return render(request, "admin_audit.html", entries=admin.audit_log(s, p))
