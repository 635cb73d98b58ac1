"""The consolidated view across a user's grants: for each participant they may view, what
its open periods accepted so far, and totals per currency (never summed across currencies):
a few ``participant_totals`` rows per participant, however many counterparts it has."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session as DbSession

from casslink.portal import views
from casslink.portal.deps import DB, Principal, current_user
from casslink.portal.rendering import render
from casslink.portal.routes.periods import MONEY, _today, open_periods_of

router = APIRouter()


def consolidated(s: DbSession, p: Principal) -> dict:
    """Every grant's participant: its open periods' totals per currency, and the totals per
    currency across them - in four queries, however many grants the user has."""
    grants = [g for g in p.grants if p.can("view", g.code, g.operation)]
    found = views.participants(s, {g.code for g in grants})
    shown = [g for g in grants if g.code in found]
    periods = open_periods_of(s, [found[g.code] for g in shown], None, _today())
    parts, per_cur = [], defaultdict(lambda: dict.fromkeys(("records", *MONEY), 0))
    for g, pers in zip(shown, periods, strict=True):
        for per in pers:
            for t in per["totals"]:
                parts.append({"participant": g.code, "kind": g.kind,
                              "operation": per["operation"], "period": per["period"], **t})
                acc = per_cur[t["currency"]]
                for c in ("records", *MONEY):
                    acc[c] += t[c]
    return {"participants": parts,
            "totals": [{"currency": cur, **v} for cur, v in sorted(per_cur.items())]}


@router.get("/api/v1/consolidated", tags=["consolidated"], response_class=JSONResponse)
def api_consolidated(p: Principal = Depends(current_user), s: DbSession = DB):
    """Every participant of your grants: its open periods' totals per currency, and the
    totals per currency across them (amounts of different currencies are never added)."""
    return JSONResponse(consolidated(s, p))


@router.get("/consolidated", include_in_schema=False)
def page(request: Request, p: Principal = Depends(current_user), s: DbSession = DB):
    return render(request, "consolidated.html", data=consolidated(s, p))
