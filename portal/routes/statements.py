"""``GET /api/v1/statements``: past (settled) periods of a participant - the settlement run,
what was billed for the participant per counterpart and currency (its components and net,
from ``period_totals``) - and every file delivered to it for the run (HOT, XML, Excel),
downloadable through ``GET /api/v1/deliveries/{id}``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from casslink import period_totals
from casslink.db.models import BillingPeriod, Delivery, Participant, SettlementRun
from casslink.portal import views
from casslink.portal.deps import DB, Principal, current_user, selected_participant
from casslink.portal.rendering import render
from casslink.portal.routes.periods import FastJSONResponse, currency_totals

router = APIRouter()
BILLED_KINDS = ("regular", "repeat", "rebill")
MEDIA = {".hot": "text/plain", ".xml": "application/xml", ".pdf": "application/pdf",
         ".csv": "text/csv", ".zip": "application/zip",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def statements(s: DbSession, part: Participant, operation: str | None,
               period: str | None) -> list[dict]:
    """The latest succeeded billing run of each settled period that concerns ``part``."""
    airline = part.kind in ("airline", "gssa")
    q = select(SettlementRun).where(SettlementRun.status == "succeeded",
                                    SettlementRun.kind.in_(BILLED_KINDS))
    if operation:
        q = q.where(SettlementRun.operation_code == operation)
    elif part.operation_code:
        q = q.where(SettlementRun.operation_code == part.operation_code)
    if period:
        q = q.where(SettlementRun.period_id == period)
    latest: dict[tuple[str, str], SettlementRun] = {}
    for run in s.scalars(q.order_by(SettlementRun.id)):
        latest[(run.operation_code, run.period_id)] = run
    out = []
    for (op, pid), run in sorted(latest.items(), key=lambda kv: kv[0], reverse=True):
        rows = period_totals.for_participant(s, part.kind, part.code, op, pid)
        files = s.scalars(select(Delivery).where(Delivery.run_id == run.id,
                                                 Delivery.participant_code == part.code)
                          .order_by(Delivery.kind)).all()
        if not rows and not files:
            continue
        bp = s.scalars(select(BillingPeriod).where(BillingPeriod.operation_code == op,
                                                   BillingPeriod.period_id == pid)).first()
        out.append({
            "operation": op, "period": pid, "run_id": run.id, "run_kind": run.kind,
            "settled_at": run.finished_at.isoformat() if run.finished_at else None,
            "settlement_currency": run.currency,
            "role": "settlement" if airline else "remittance",
            "remittance_date": bp.remittance_date.isoformat() if bp else None,
            "rows": rows, "totals": currency_totals(rows),
            "files": [{"id": d.id, "kind": d.kind, "name": Path(d.path).name, "size": d.size,
                       "sha256": d.sha256, "url": f"/api/v1/deliveries/{d.id}"}
                      for d in files]})
    return out


def _part(s: DbSession, p: Principal, code: str) -> Participant:
    p.require("view", code)
    part = views.participant(s, code)
    if part is None:
        raise HTTPException(404, "no such participant")
    return part


@router.get("/api/v1/statements", tags=["statements"], response_class=JSONResponse)
def api_statements(participant: str, operation: str | None = None, period: str | None = None,
                   p: Principal = Depends(current_user), s: DbSession = DB):
    """Settled periods of the participant: the run, the remittance (agent) or settlement
    (airline) per counterpart and currency with its components, and the delivered files."""
    part = _part(s, p, participant)
    return FastJSONResponse({"participant": part.code, "kind": part.kind,
                             "statements": statements(s, part, operation, period)})


@router.get("/api/v1/deliveries/{delivery_id}", tags=["statements"])
def api_delivery(request: Request, delivery_id: int, p: Principal = Depends(current_user),
                 s: DbSession = DB):
    """Download one delivered output file (HOT, XML, Excel, CSV, invoice PDF or UBL) of your
    participant."""
    d = s.get(Delivery, delivery_id)
    if d is None or not p.can("view", d.participant_code):
        raise HTTPException(404, "no such file")
    path = Path(d.path)
    outbox = (request.app.state.settings.homes_dir / d.participant_code / "outbox").resolve()
    if not path.is_file() or path.resolve().parent != outbox:
        raise HTTPException(404, "the file is no longer in the outbox")
    return FileResponse(path, media_type=MEDIA.get(path.suffix, "application/octet-stream"),
                        filename=path.name)


@router.get("/statements", include_in_schema=False)
def statements_page(request: Request, p: Principal = Depends(current_user),
                    s: DbSession = DB):
    code = selected_participant(request, p)
    part = _part(s, p, code) if code else None
    items = statements(s, part, request.query_params.get("operation"),
                       request.query_params.get("period")) if part else []
    return render(request, "statements.html", part=part, statements=items, current_code=code,
                  airline=bool(part and part.kind in ("airline", "gssa")))
