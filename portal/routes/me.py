"""``GET /api/v1/me``: the user, the company, the grants and rights; and its page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session as DbSession

from casslink import access
from casslink.db.models import Company, User
from casslink.portal.deps import DB, Principal, current_user
from casslink.portal.rendering import render
from casslink.sftp_gateway import accounts

router = APIRouter()


def me_data(s: DbSession, p: Principal) -> dict:
    company = s.get(Company, p.company_id) if p.company_id is not None else None
    return {
        "login": p.login,
        "role": p.role,
        "operator": p.operator,
        "language": p.language,
        "company": ({"id": company.id, "name": company.name, "kind": company.kind}
                    if company else None),
        "grants": [{"participant": g.code, "kind": g.kind, "operation": g.operation,
                    "rights": sorted(p.rights_for(g.code, g.operation))} for g in p.grants],
        "token_scopes": sorted(p.scopes) if p.scopes is not None else None,
    }


@router.get("/api/v1/me", tags=["me"])
def api_me(p: Principal = Depends(current_user), s: DbSession = DB) -> dict:
    """The signed-in user, their company, grants and rights (narrowed by a token's scopes)."""
    return me_data(s, p)


class PasswordChange(BaseModel):
    current: str
    new: str


def change_password(s: DbSession, p: Principal, current: str, new: str) -> None:
    """The user's own password (the same one SFTP checks): the current one is required."""
    if p.scopes is not None:
        raise HTTPException(403, "a token cannot change the password")
    user = s.get(User, p.user_id)
    creds = accounts.Credentials(user.login, user.participant_id, user.disabled,
                                 user.password_hash, ())
    if not accounts.verify_password(creds, current):
        raise HTTPException(403, "the current password is wrong")
    try:
        user.password_hash = accounts.hash_password(new)
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    access.audit(s, p.login, "user.password_change", p.login, {}, p.company_id)


@router.post("/api/v1/me/password", tags=["me"], status_code=204)
def api_password(body: PasswordChange, p: Principal = Depends(current_user),
                 s: DbSession = DB) -> None:
    """Change your own password (12+ characters; the current one is required)."""
    change_password(s, p, body.current, body.new)


@router.get("/me", include_in_schema=False)
def me_page(request: Request, p: Principal = Depends(current_user),
            s: DbSession = DB):
    return render(request, "me.html", me=me_data(s, p),
                  changed=request.query_params.get("changed") == "1")


@router.post("/me/password", include_in_schema=False)
def me_password(current: str = Form(...), new: str = Form(...),
                p: Principal = Depends(current_user), s: DbSession = DB):
    from fastapi.responses import RedirectResponse

    change_password(s, p, current, new)
    return RedirectResponse("/me?changed=1", status_code=303)


@router.get("/api/docs", include_in_schema=False)
def api_docs(request: Request, p: Principal = Depends(current_user)):
    """The API reference: every operation of the OpenAPI document, served by the portal
    itself (no CDN; the machine-readable document is /api/openapi.json)."""
    spec = request.app.openapi()
    ops = [{"method": m.upper(), "path": path, "summary": (op.get("summary") or ""),
            "doc": (op.get("description") or "").replace("``", "")}  # docstrings' RST
           for path, item in sorted(spec["paths"].items()) for m, op in item.items()]
    return render(request, "api_docs.html", ops=ops)
