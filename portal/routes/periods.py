"""``GET /api/v1/periods/current``: real-time reporting. For the participant's open periods
(the calendar's current one, and any earlier still open that has accepted records), what
has been accepted so far: per counterpart (agent or airline) and currency, the records, the
agent-net components, the tax and the net. Read from ``period_totals``, which each ingest
updates in the transaction that records the file (never from the warehouse's Parquet)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from casslink import period_totals
from casslink.db.models import BillingPeriod, Participant
from casslink.portal import views
from casslink.portal.deps import DB, Principal, current_user, selected_participant
from casslink.portal.rendering import render

router = APIRouter()
MONEY = (*period_totals.COMPONENTS, "net")
PAGE_ROWS = 100
"""A page shows the largest counterparts of a period (by net); the API returns all."""


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _airline(part: Participant) -> bool:
    return part.kind in ("airline", "gssa")


def period_rows(totals: list, airline: bool) -> tuple[list[dict], list[dict]]:
    """(rows per counterpart and currency, totals per currency - never across currencies)."""
    rows, per_cur = [], defaultdict(lambda: dict.fromkeys(("records", *MONEY), 0))
    for t in totals:
        m = t._mapping
        row = {"counterpart": m["agent_code"] if airline else m["airline_prefix"],
               "currency": m["currency"], "records": m["records"], "files": m["files"],
               **{c: m[c] for c in MONEY}}
        rows.append(row)
        acc = per_cur[t.currency]
        for c in ("records", *MONEY):
            acc[c] += row[c]
    return rows, [{"currency": cur, **v} for cur, v in sorted(per_cur.items())]


def current_periods(s: DbSession, part: Participant, operation: str | None,
                    today: dt.date) -> list[dict]:
    """The participant's current open periods with what they accepted so far."""
    airline = _airline(part)
    all_totals = period_totals.for_participant(s, part.kind, part.code, operation)
    ops = {operation} if operation else (
        {part.operation_code} if part.operation_code else set()) | {
        t.operation_code for t in all_totals}
    ops.discard(None)
    wanted: set[tuple[str, str]] = {(t.operation_code, t.period_id) for t in all_totals}
    periods = {(bp.operation_code, bp.period_id): bp for bp in s.scalars(
        select(BillingPeriod).where(BillingPeriod.operation_code.in_(ops or {""}),
                                    BillingPeriod.start_date <= today,
                                    BillingPeriod.status == "open"))}
    current = {(op, pid) for (op, pid), bp in periods.items() if bp.end_date >= today}
    keys = sorted((wanted & set(periods)) | current, key=lambda k: (k[0], periods[k].start_date))
    out = []
    by_key: dict[tuple[str, str], list] = defaultdict(list)
    for t in all_totals:
        by_key[(t.operation_code, t.period_id)].append(t)
    for key in keys:
        bp = periods[key]
        mine = by_key.get(key, [])
        rows, totals = period_rows(mine, airline)
        out.append({"operation": key[0], "period": key[1], "status": bp.status,
                    "start": bp.start_date.isoformat(), "end": bp.end_date.isoformat(),
                    "billing_date": bp.billing_date.isoformat(),
                    "rows": rows, "totals": totals,
                    "updated_at": max((t.updated_at for t in mine if t.updated_at),
                                      default=None)})
    return out


def _participant_or_403(s: DbSession, p: Principal, code: str) -> Participant:
    p.require("view", code)
    part = views.participant(s, code)
    if part is None:
        raise HTTPException(404, "no such participant")
    return part


@router.get("/api/v1/periods/current", tags=["periods"], response_class=JSONResponse)
def api_current(participant: str, operation: str | None = None,
                p: Principal = Depends(current_user), s: DbSession = DB):
    """Real-time: what the participant's open periods have accepted so far, per
    counterpart and currency (records, components, tax, net; minor units), and totals per
    currency. Updated as each file is ingested."""
    part = _participant_or_403(s, p, participant)
    periods = current_periods(s, part, operation, _today())
    for per in periods:
        per["updated_at"] = per["updated_at"].isoformat() if per["updated_at"] else None
    return JSONResponse({"participant": part.code, "kind": part.kind, "name": part.name,
                         "as_of": dt.datetime.now(dt.UTC).isoformat(), "periods": periods})


@router.get("/periods/current", include_in_schema=False)
def current_page(request: Request, p: Principal = Depends(current_user),
                 s: DbSession = DB):
    code = selected_participant(request, p)
    part = _participant_or_403(s, p, code) if code else None
    periods = current_periods(s, part, None, _today()) if part else []
    for per in periods:
        per["all_rows"] = len(per["rows"])
        per["rows"] = sorted(per["rows"], key=lambda r: -abs(r["net"]))[:PAGE_ROWS]
    template = "period_live.html" if request.headers.get("hx-request") else "period.html"
    return render(request, template, part=part, periods=periods, current_code=code,
                  airline=bool(part and _airline(part)))
