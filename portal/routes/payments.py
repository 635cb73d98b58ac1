"""Payments in the portal and the API (issue 27; the money is :mod:`casslink.payments`').

API: ``GET /api/v1/payments?participant=&operation=&period=`` (an agent's remittances,
wallet and irregularities; an airline's due, paid out and held; the right ``finance`` on the
participant), ``GET /api/v1/agents/{code}/status``, ``POST /api/v1/payments/options`` (the
agent chooses how to pay, audited) and ``POST /api/v1/payments/match`` (operators match an
unmatched bank-statement credit, audited).
Pages: ``/payments`` (the selected participant's side; operators also see the unmatched
entries, the payment files and the agents' statuses with the reinstatement decision) and
``/payments/live``, the partial htmx polls so a payment or a status change shows without a
reload. Messages are in the gettext domain ``payments``.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from casslink import access, faults
from casslink.db.engine import session_scope
from casslink.db.models import PayRemittance
from casslink.payments import defaults
from casslink.payments.dues import choose_option
from casslink.payments.references import remittance_reference
from casslink.payments.show import show
from casslink.payments.statements import match_entry
from casslink.payments.terms import PaymentTerms, load_terms
from casslink.portal import payments_view as pv
from casslink.portal import views
from casslink.portal.deps import DB, Principal, current_user
from casslink.portal.rendering import domain_environment

router = APIRouter()
POLL = "every 5s"
RIGHT = "finance"


def _today(request: Request) -> dt.date:
    """The business day (the chosen-date window): ``app.state.payments_today()`` when set
    (tests and demos pin it), else today in UTC."""
    clock = getattr(request.app.state, "payments_today", None)
    return clock() if clock else dt.datetime.now(dt.UTC).date()


def _terms(request: Request) -> PaymentTerms:
    return load_terms(request.app.state.settings.fixtures_dir / "reference")


def _operator(p: Principal) -> None:
    """403 unless an operator (a token of one must carry the ``finance`` scope)."""
    if not p.operator or (p.scopes is not None and RIGHT not in p.scopes):
        raise HTTPException(403, "operators only")


def _participant(s: DbSession, p: Principal, code: str, operation: str | None = None):
    p.require(RIGHT, code, operation)
    part = views.participant(s, code)
    if part is None:
        raise HTTPException(404, f"no participant {code}")
    return part


def participant_view(s: DbSession, request: Request, p: Principal, code: str,
                     operation: str | None, period: str | None) -> dict:
    part = _participant(s, p, code, operation)
    if part.kind == "agent":
        return pv.agent_view(s, _terms(request), code, _today(request), operation, period)
    if part.kind in ("airline", "gssa"):
        return pv.airline_view(s, code, operation, period)
    raise HTTPException(404, f"{code} has no payments")


def _remittance(s: DbSession, p: Principal, agent: str, operation: str,
                period: str) -> PayRemittance:
    """The agent's remittance of the period (404 when it has none; 403 without finance)."""
    p.require(RIGHT, agent, operation)
    r = s.scalars(select(PayRemittance).where(
        PayRemittance.reference == remittance_reference(operation, period, agent))).first()
    if r is None:
        raise HTTPException(404, f"no remittance of {agent} for {operation} {period}")
    return r


def change_option(s: DbSession, request: Request, p: Principal, r: PayRemittance,
                  option: str, debit_date: dt.date | None) -> dict:
    """Apply the agent's choice with the payments package's rules; a change is audited."""
    if not pv.option_window(_terms(request), r, _today(request))["changeable"]:
        raise HTTPException(409, f"remittance {r.reference} is {r.status}: its option can "
                                 "no longer change")
    before = (r.option, r.debit_date)
    try:
        choose_option(s, r, _terms(request).rule(r.operation_code), option, _today(request),
                      debit_date)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    if (r.option, r.debit_date) == before:
        return pv.remittance_row(s, r)  # the same choice again: nothing to record
    access.audit(s, p.login, "payments.option", r.reference,
                 {"agent": r.agent_code, "operation": r.operation_code, "period": r.period_id,
                  "from": before[0], "from_date": before[1], "to": r.option,
                  "debit_date": r.debit_date}, p.company_id)
    faults.checkpoint("payments", "portal-option-before-commit")  # the request commits
    return pv.remittance_row(s, r)


def signed_in(request: Request) -> Principal:
    """:func:`current_user` in a transaction of its own, committed before the route runs:
    a route that writes through the payments package's own transactions (the manual match)
    must not wait on this request's lock (a token's last-use write, on SQLite)."""
    with session_scope(request.app.state.engine) as s:
        return current_user(request, s)


def do_match(request: Request, p: Principal, entry_id: int, reference: str,
             reason: str) -> str:
    """The manual match (its own transaction, a ``manual_match`` event), then the audit."""
    _operator(p)
    settings, engine = request.app.state.settings, request.app.state.engine
    try:
        result = match_entry(settings, engine, _terms(request), entry_id, reference, p.login,
                             reason)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    with session_scope(engine) as s:
        access.audit(s, p.login, "payments.match", reference.strip().upper(),
                     {"entry": entry_id, "classification": result, "reason": reason},
                     p.company_id)
    return result


# --- API --------------------------------------------------------------------------------------

class OptionBody(BaseModel):
    participant: str
    operation: str
    period: str
    option: str
    debit_date: dt.date | None = None


class MatchBody(BaseModel):
    entry_id: int
    reference: str
    reason: str = ""


@router.get("/api/v1/payments", tags=["payments"])
def api_payments(request: Request, participant: str | None = None,
                 operation: str | None = None, period: str | None = None,
                 p: Principal = Depends(current_user), s: DbSession = DB) -> dict:
    """An agent's remittances (due, paid, status, reference, option), wallet and
    irregularities, or an airline's due, paid out and held per period (``finance``).
    Operators without a participant: the whole period (``operation`` and ``period``)."""
    if participant is None and p.operator:
        _operator(p)
        if not (operation and period):
            raise HTTPException(422, "operators name a participant, or an operation and "
                                     "a period")
        try:
            return show(request.app.state.engine, operation, period)
        except ValueError as exc:
            raise HTTPException(404, str(exc)) from exc
    if participant is None:
        participant = _first(p)
        if participant is None:
            raise HTTPException(403, f"no grant with the right {RIGHT!r}")
    return participant_view(s, request, p, participant, operation, period)


@router.get("/api/v1/agents/{code}/status", tags=["payments"])
def api_agent_status(request: Request, code: str, p: Principal = Depends(current_user),
                     s: DbSession = DB) -> dict:
    """The agent's status per operation (ACTIVE, DEFAULTED, REINSTATED), its transitions
    and irregularities (``finance`` on the agent, or an operator)."""
    part = _participant(s, p, code)
    if part.kind != "agent":
        raise HTTPException(404, f"{code} is no agent")
    return defaults.agent_status(request.app.state.engine, code)


@router.post("/api/v1/payments/options", tags=["payments"])
def api_option(request: Request, body: OptionBody, p: Principal = Depends(current_user),
               s: DbSession = DB) -> dict:
    """The agent chooses how to pay a remittance: an option its operation offers; a chosen
    debit date between today plus the clearing days and the remittance date."""
    r = _remittance(s, p, body.participant, body.operation, body.period)
    return change_option(s, request, p, r, body.option, body.debit_date)


@router.post("/api/v1/payments/match", tags=["payments"])
def api_match(request: Request, body: MatchBody, p: Principal = Depends(signed_in)) -> dict:
    """Operators: match an unmatched bank-statement credit to a remittance by its
    reference; returns the remittance's new classification."""
    return {"entry_id": body.entry_id, "reference": body.reference.strip().upper(),
            "classification": do_match(request, p, body.entry_id, body.reference,
                                       body.reason)}


# --- pages ------------------------------------------------------------------------------------

def _selected(request: Request, p: Principal) -> str | None:
    """The participant of the page: ``?participant=`` (403 without ``finance``), else the
    switcher's choice when it carries ``finance``, else the first grant that does."""
    code = request.query_params.get("participant")
    if code:
        p.require(RIGHT, code)
        return code
    chosen = request.state.session.participant
    if chosen and p.can(RIGHT, chosen):
        return chosen
    return _first(p)


def _first(p: Principal) -> str | None:
    """The first grant carrying ``finance``, in the switcher's order."""
    return next((g.code for g in p.grants if p.can(RIGHT, g.code, g.operation)), None)


def _context(s: DbSession, request: Request, p: Principal) -> dict:
    code = _selected(request, p)
    if code is None and not p.operator:
        raise HTTPException(403, f"no grant with the right {RIGHT!r}")
    ctx: dict = {"code": code, "view": None, "operator": p.operator, "poll": POLL}
    part = views.participant(s, code) if code is not None else None
    if part is not None and part.kind in ("agent", "airline", "gssa"):
        ctx["view"] = participant_view(s, request, p, code, None, None)
    elif not p.operator:
        raise HTTPException(404, f"{code} has no payments")
    if p.operator:
        ctx.update(unmatched=pv.unmatched_entries(s),
                   files=pv.payment_files(request.app.state.settings),
                   statuses=pv.agent_statuses(s))
    return ctx


def _render(request: Request, template: str, p: Principal, status_code: int = 200,
            **context) -> HTMLResponse:
    session = request.state.session
    html = domain_environment(p.language, "payments").get_template(template).render(
        request=request, principal=p, csrf=session.csrf, session=session,
        participant=session.participant, current_code=context.get("code"), **context)
    return HTMLResponse(html, status_code=status_code)


def _page(s: DbSession, request: Request, p: Principal, error: str | None = None,
          done: str | None = None, status_code: int = 200) -> HTMLResponse:
    return _render(request, "payments/page.html", p, status_code=status_code, error=error,
                   done=done, **_context(s, request, p))


@router.get("/payments", include_in_schema=False)
def page(request: Request, p: Principal = Depends(current_user), s: DbSession = DB):
    return _page(s, request, p)


@router.get("/payments/live", include_in_schema=False)
def page_live(request: Request, p: Principal = Depends(current_user),
              s: DbSession = DB):
    return _render(request, "payments/live.html", p, **_context(s, request, p))


def _form_action(s: DbSession, request: Request, p: Principal, action, done: str):
    """Run a form's action; a refusal of the rules shows on the page (409), an
    authorization failure stays a 403/404. Each action refuses before it writes."""
    try:
        action()
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        return _page(s, request, p, error=str(exc.detail), status_code=409)
    query = f"?participant={request.query_params['participant']}" \
        if request.query_params.get("participant") else ""
    return RedirectResponse(f"/payments{query}#{done}", status_code=303)


@router.post("/payments/options", include_in_schema=False)
def page_option(request: Request, agent: str = Form(...), operation: str = Form(...),
                period: str = Form(...), option: str = Form(...), debit_date: str = Form(""),
                p: Principal = Depends(current_user), s: DbSession = DB):
    r = _remittance(s, p, agent, operation, period)

    def act():
        try:
            day = dt.date.fromisoformat(debit_date) if debit_date else None
        except ValueError as exc:
            raise HTTPException(409, f"not a date: {debit_date!r}") from exc
        change_option(s, request, p, r, option, day)
    return _form_action(s, request, p, act, "remittances")


@router.post("/payments/match", include_in_schema=False)
def page_match(request: Request, entry_id: int = Form(...), reference: str = Form(...),
               reason: str = Form(""), p: Principal = Depends(signed_in)):
    _operator(p)
    try:
        do_match(request, p, entry_id, reference, reason)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        with session_scope(request.app.state.engine) as s:
            return _page(s, request, p, error=str(exc.detail), status_code=409)
    return RedirectResponse("/payments#unmatched", status_code=303)


@router.post("/payments/reinstate", include_in_schema=False)
def page_reinstate(request: Request, agent: str = Form(...), operation: str = Form(...),
                   reason: str = Form(...), p: Principal = Depends(current_user),
                   s: DbSession = DB):
    _operator(p)

    def act():
        try:
            defaults.reinstate(s, operation, agent, p.login, reason)
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
        access.audit(s, p.login, "payments.reinstate", agent,
                     {"operation": operation, "reason": reason}, p.company_id)
    return _form_action(s, request, p, act, "statuses")
