"""``GET /api/v1/me``: the user, the company, the grants and rights; and its page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session as DbSession

from casslink.db.models import Company
from casslink.portal.deps import Principal, current_user, db
from casslink.portal.rendering import render

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
def api_me(p: Principal = Depends(current_user), s: DbSession = Depends(db)) -> dict:
    """The signed-in user, their company, grants and rights (narrowed by a token's scopes)."""
    return me_data(s, p)


@router.get("/me", include_in_schema=False)
def me_page(request: Request, p: Principal = Depends(current_user),
            s: DbSession = Depends(db)):
    return render(request, "me.html", me=me_data(s, p))


@router.get("/api/docs", include_in_schema=False)
def api_docs(request: Request, p: Principal = Depends(current_user)):
    """The API reference: every operation of the OpenAPI document, served by the portal
    itself (no CDN; the machine-readable document is /api/openapi.json)."""
    spec = request.app.openapi()
    ops = [{"method": m.upper(), "path": path, "summary": (op.get("summary") or ""),
            "doc": (op.get("description") or "")}
           for path, item in sorted(spec["paths"].items()) for m, op in item.items()]
    return render(request, "api_docs.html", ops=ops)
