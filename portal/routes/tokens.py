"""Personal API tokens: list, create (shown once) and revoke your own. Tokens are for
``/api/v1`` only (``Authorization: Bearer <token>``); their scopes narrow your rights."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from casslink import access
from casslink.db.models import ApiToken, User
from casslink.portal.deps import DB, Principal, current_user
from casslink.portal.rendering import render

router = APIRouter()


class TokenIn(BaseModel):
    name: str
    scopes: list[str]


def tokens_of(s: DbSession, user_id: int) -> list[dict]:
    rows = s.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                     .order_by(ApiToken.id)).all()
    return [{"id": t.id, "name": t.name, "scopes": t.scopes.split(","),
             "created_at": t.created_at.isoformat() if t.created_at else None,
             "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
             "revoked": t.revoked_at is not None} for t in rows]


def create(s: DbSession, p: Principal, name: str, scopes: list[str]) -> dict:
    if p.scopes is not None:
        raise HTTPException(403, "a token cannot create tokens")
    try:
        wanted = access.parse_rights(scopes)
        user = s.get(User, p.user_id)
        token = access.issue_token(s, user, wanted, name.strip() or "token")
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    access.audit(s, p.login, "token.create", p.login,
                 {"name": name, "scopes": sorted(wanted)}, p.company_id)
    return {"token": token, "name": name, "scopes": access.format_rights(wanted).split(",")}


def revoke(s: DbSession, p: Principal, token_id: int) -> None:
    if not access.revoke_token(s, s.get(User, p.user_id), token_id):
        raise HTTPException(404, "no such token")
    access.audit(s, p.login, "token.revoke", p.login, {"id": token_id}, p.company_id)


@router.get("/api/v1/tokens", tags=["tokens"])
def api_list(p: Principal = Depends(current_user), s: DbSession = DB) -> list[dict]:
    """Your API tokens (never the tokens themselves)."""
    return tokens_of(s, p.user_id)


@router.post("/api/v1/tokens", tags=["tokens"], status_code=201)
def api_create(body: TokenIn, p: Principal = Depends(current_user),
               s: DbSession = DB) -> dict:
    """A new token with ``scopes`` (view, upload, dispute, finance, admin): shown once."""
    return create(s, p, body.name, body.scopes)


@router.delete("/api/v1/tokens/{token_id}", tags=["tokens"], status_code=204)
def api_revoke(token_id: int, p: Principal = Depends(current_user),
               s: DbSession = DB) -> None:
    """Revoke one of your tokens."""
    revoke(s, p, token_id)


@router.get("/tokens", include_in_schema=False)
def page(request: Request, p: Principal = Depends(current_user), s: DbSession = DB):
    return render(request, "tokens.html", tokens=tokens_of(s, p.user_id), new=None,
                  rights=access.RIGHTS)


@router.post("/tokens", include_in_schema=False)
def page_create(request: Request, name: str = Form(...), scopes: list[str] = Form([]),
                p: Principal = Depends(current_user), s: DbSession = DB):
    new = create(s, p, name, scopes)
    s.flush()
    return render(request, "tokens.html", tokens=tokens_of(s, p.user_id), new=new,
                  rights=access.RIGHTS)


@router.post("/tokens/{token_id}/revoke", include_in_schema=False)
def page_revoke(request: Request, token_id: int, p: Principal = Depends(current_user),
                s: DbSession = DB):
    revoke(s, p, token_id)
    s.flush()
    return render(request, "tokens.html", tokens=tokens_of(s, p.user_id), new=None,
                  rights=access.RIGHTS)
