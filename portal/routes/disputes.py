"""Disputes in the portal and the API (issue 25; use cases in ``casslink.app.disputes``).

API: ``POST/GET /api/v1/disputes``, ``GET /api/v1/disputes/{id}``,
``POST /api/v1/disputes/{id}/decision``, ``/comments``, ``/withdraw``, ``/attachments``.
Pages: ``/disputes`` (the agent's disputes, the airline's inbox with filters and bulk
accept/reject, operators' escalations), ``/disputes/new``, ``/disputes/{id}``; the tables and
the detail panel are htmx partials polled every few seconds, so a new dispute or a decision
shows without a reload. Messages are in the gettext domain ``disputes``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from casslink import access, i18n
from casslink.app.disputes import service, states
from casslink.app.disputes.adjust import AdjustmentFailed
from casslink.app.disputes.attachments import attach
from casslink.app.disputes.deadlines import NoPeriodToAdjust
from casslink.dispute_rules import load_reasons
from casslink.portal.deps import Principal, current_user
from casslink.portal.rendering import domain_environment

router = APIRouter()
POLL = "every 3s"


def _render(request: Request, template: str, p: Principal, **context) -> HTMLResponse:
    session = request.state.session
    reasons = load_reasons(request.app.state.settings.fixtures_dir / "reference")

    def tr(message: str) -> str:
        return i18n.gettext(p.language, "disputes", message)

    html = domain_environment(p.language, "disputes").get_template(template).render(
        request=request, principal=p, csrf=session.csrf, session=session,
        participant=session.participant, current_code=session.participant,
        status_label=lambda code: tr(states.LABELS.get(code, code)),
        action_label=lambda code: tr(states.ACTIONS.get(code, code)),
        reason_label=lambda code: tr(reasons[code].label) if code in reasons else code,
        **context)
    return HTMLResponse(html)


def _actor(p: Principal, right: str) -> service.Actor:
    """The use cases' actor; a token without the scope is refused here (scopes narrow)."""
    if p.scopes is not None and right not in p.scopes:
        raise HTTPException(403, f"this token lacks the scope {right!r}")
    return service.Actor(p.login, p.user_id)


def _run(call):
    """A use case, its refusals as HTTP errors (an unseen dispute is 404, never 403)."""
    try:
        return call()
    except service.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except access.Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except (service.DisputeError, states.IllegalTransition, NoPeriodToAdjust) as exc:
        raise HTTPException(409, str(exc)) from exc
    except AdjustmentFailed as exc:
        raise HTTPException(502, str(exc)) from exc


# --- API --------------------------------------------------------------------------------------

class RaiseBody(BaseModel):
    agent: str
    airline: str
    awb: str
    reason: str
    amount: str | None = None
    component: str | None = None
    remove: bool = False
    text: str = ""
    correction_number: str | None = None


class DecisionBody(BaseModel):
    accept: bool
    amount: str | None = None
    text: str = ""


class TextBody(BaseModel):
    text: str = ""


def _settings(request: Request):
    return request.app.state.settings, request.app.state.engine


def _today(request: Request):
    """The calendar day the deadlines use: ``app.state.dispute_today()`` when set (tests and
    demos pin it), else today."""
    clock = getattr(request.app.state, "dispute_today", None)
    return clock() if clock else None


@router.post("/api/v1/disputes", status_code=201, tags=["disputes"])
def api_raise(request: Request, body: RaiseBody, p: Principal = Depends(current_user)) -> dict:
    """Raise a dispute on a billed AWB (``dispute`` right on the agent)."""
    settings, engine = _settings(request)
    actor = _actor(p, "dispute")
    new_id = _run(lambda: service.raise_dispute(settings, engine, actor, today=_today(request),
                                                **body.model_dump()))
    return service.show(engine, actor, new_id)


@router.get("/api/v1/disputes", tags=["disputes"])
def api_list(request: Request, status: str | None = None, agent: str | None = None,
             airline: str | None = None, operation: str | None = None,
             p: Principal = Depends(current_user)) -> list[dict]:
    """The disputes the caller may see, filtered."""
    return service.list_disputes(request.app.state.engine, _actor(p, "view"), status=status,
                                 agent=agent, airline=airline, operation=operation)


@router.get("/api/v1/disputes/{dispute_id}", tags=["disputes"])
def api_show(request: Request, dispute_id: int, p: Principal = Depends(current_user)) -> dict:
    """One dispute with its history and attachments."""
    return _run(lambda: service.show(request.app.state.engine, _actor(p, "view"), dispute_id))


@router.post("/api/v1/disputes/{dispute_id}/decision", tags=["disputes"])
def api_decide(request: Request, dispute_id: int, body: DecisionBody,
               p: Principal = Depends(current_user)) -> dict:
    """Accept (fully or an amount) or reject; an acceptance bills the airline's CCA or DCM."""
    settings, engine = _settings(request)
    actor = _actor(p, "dispute")
    return _run(lambda: service.decide(settings, engine, actor, dispute_id,
                                       accept=body.accept, amount=body.amount,
                                       text=body.text, today=_today(request)))


@router.post("/api/v1/disputes/{dispute_id}/comments", tags=["disputes"])
def api_comment(request: Request, dispute_id: int, body: TextBody,
                p: Principal = Depends(current_user)) -> dict:
    """Add a comment to the dispute's thread."""
    actor = _actor(p, "dispute")
    return _run(lambda: service.comment(request.app.state.engine, actor, dispute_id,
                                        body.text))


@router.post("/api/v1/disputes/{dispute_id}/withdraw", tags=["disputes"])
def api_withdraw(request: Request, dispute_id: int, body: TextBody,
                 p: Principal = Depends(current_user)) -> dict:
    """The agent withdraws an undecided dispute."""
    actor = _actor(p, "dispute")
    return _run(lambda: service.withdraw(request.app.state.engine, actor, dispute_id,
                                         body.text))


@router.post("/api/v1/disputes/{dispute_id}/attachments", status_code=201, tags=["disputes"])
async def api_attach(request: Request, dispute_id: int, file: UploadFile,
                     p: Principal = Depends(current_user)) -> dict:
    """Attach a PDF, PNG or JPEG (checked by content, size-limited)."""
    from casslink.app.disputes.attachments import MAX_BYTES

    settings, engine = _settings(request)
    actor = _actor(p, "dispute")
    data = await file.read(MAX_BYTES + 1)
    return _run(lambda: attach(settings, engine, actor, dispute_id, file.filename or "", data))


# --- pages ------------------------------------------------------------------------------------

def _filters(request: Request) -> dict:
    q = request.query_params
    return {k: q.get(k) or None for k in ("status", "agent", "airline", "operation")}


def _view(request: Request, p: Principal) -> dict:
    engine = request.app.state.engine
    filters = _filters(request)
    rows = service.list_disputes(engine, _actor(p, "view"), **filters)
    decides = set(p.codes_with("dispute"))
    return {"rows": rows, "filters": filters, "statuses": states.STATUSES,
            "can_decide": lambda d: (d["status"] == states.RAISED and (
                p.operator or d["airline"] in decides)) or (
                d["status"] == states.ESCALATED and p.operator),
            "query": request.url.query}


@router.get("/disputes", include_in_schema=False)
def page_list(request: Request, p: Principal = Depends(current_user)):
    return _render(request, "disputes/list.html", p, poll=POLL, **_view(request, p))


@router.get("/disputes/rows", include_in_schema=False)
def page_rows(request: Request, p: Principal = Depends(current_user)):
    return _render(request, "disputes/rows.html", p, **_view(request, p))


FORM = ("agent", "airline", "awb", "correction")


def _billed(request: Request, p: Principal, form: dict) -> list[dict]:
    """The billed lines of the form's AWB (a drill-down's link names the operation and
    period): shown above the form, for a user who may dispute for the agent."""
    from casslink.portal.routes.lines import pair_lines

    q = request.query_params
    op, period = q.get("operation"), q.get("period")
    prefix, _, serial = form["awb"].partition("-")
    if not (op and period and serial and form["agent"] and p.can("dispute", form["agent"])):
        return []
    settings, engine = _settings(request)
    return pair_lines(settings, engine, op, period, prefix, form["agent"], serial).to_pylist()


@router.get("/disputes/new", include_in_schema=False)
def page_new(request: Request, p: Principal = Depends(current_user)):
    q = request.query_params
    reasons = load_reasons(request.app.state.settings.fixtures_dir / "reference")
    agents = [g.code for g in p.grants if g.kind == "agent" and "dispute" in g.rights]
    form = {k: q.get(k, "") for k in FORM}
    return _render(request, "disputes/new.html", p, reasons=list(reasons.values()),
                   agents=agents, form=form, billed=_billed(request, p, form), error=None)


@router.post("/disputes", include_in_schema=False)
def page_raise(request: Request, agent: str = Form(...), airline: str = Form(...),
               awb: str = Form(...), reason: str = Form(...), amount: str = Form(""),
               text: str = Form(""), correction: str = Form(""),
               p: Principal = Depends(current_user)):
    settings, engine = _settings(request)
    try:
        new_id = service.raise_dispute(settings, engine, _actor(p, "dispute"), agent=agent,
                                       airline=airline, awb=awb, reason=reason,
                                       amount=amount or None, text=text,
                                       correction_number=correction or None,
                                       today=_today(request))
    except (service.DisputeError, access.Forbidden) as exc:
        reasons = load_reasons(settings.fixtures_dir / "reference")
        agents = [g.code for g in p.grants if g.kind == "agent"]
        page = _render(request, "disputes/new.html", p, reasons=list(reasons.values()),
                       agents=agents, form={"agent": agent, "airline": airline, "awb": awb,
                                            "correction": correction},
                       billed=[], error=str(exc))
        page.status_code = 409
        return page
    return RedirectResponse(f"/disputes/{new_id}", status_code=303)


def _detail(request: Request, p: Principal, dispute_id: int) -> dict:
    d = _run(lambda: service.show(request.app.state.engine, _actor(p, "view"), dispute_id))
    decides = p.operator if d["status"] == states.ESCALATED else (
        d["status"] == states.RAISED and p.can("dispute", d["airline"]))
    return {"d": d, "decides": decides,
            "withdraws": d["status"] in states.OPEN and p.can("dispute", d["agent"]),
            "comments": p.can("dispute", d["agent"]) or p.can("dispute", d["airline"])}


@router.get("/disputes/{dispute_id}", include_in_schema=False)
def page_show(request: Request, dispute_id: int, p: Principal = Depends(current_user)):
    return _render(request, "disputes/detail.html", p, poll=POLL,
                   **_detail(request, p, dispute_id))


@router.get("/disputes/{dispute_id}/panel", include_in_schema=False)
def page_panel(request: Request, dispute_id: int, p: Principal = Depends(current_user)):
    return _render(request, "disputes/panel.html", p, **_detail(request, p, dispute_id))


@router.post("/disputes/{dispute_id}/decision", include_in_schema=False)
def page_decide(request: Request, dispute_id: int, action: str = Form(...),
                amount: str = Form(""), text: str = Form(""),
                p: Principal = Depends(current_user)):
    settings, engine = _settings(request)
    _run(lambda: service.decide(settings, engine, _actor(p, "dispute"), dispute_id,
                                accept=action == "accept", amount=amount or None, text=text,
                                today=_today(request)))
    return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)


@router.post("/disputes/{dispute_id}/comments", include_in_schema=False)
def page_comment(request: Request, dispute_id: int, text: str = Form(...),
                 p: Principal = Depends(current_user)):
    _run(lambda: service.comment(request.app.state.engine, _actor(p, "dispute"), dispute_id,
                                 text))
    return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)


@router.post("/disputes/{dispute_id}/withdraw", include_in_schema=False)
def page_withdraw(request: Request, dispute_id: int, p: Principal = Depends(current_user)):
    _run(lambda: service.withdraw(request.app.state.engine, _actor(p, "dispute"), dispute_id))
    return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)


@router.post("/disputes/bulk", include_in_schema=False)
async def page_bulk(request: Request, p: Principal = Depends(current_user)):
    """Accept or reject every ticked dispute of the inbox; each is decided on its own (one
    refused does not stop the others) and the page shows what happened."""
    form = await request.form()
    settings, engine = _settings(request)
    actor = _actor(p, "dispute")
    accept = form.get("action") == "accept"
    text = str(form.get("text") or "")
    outcome = []
    for raw in form.getlist("ids"):
        try:
            d = service.decide(settings, engine, actor, int(raw), accept=accept, text=text,
                               today=_today(request))
            outcome.append((int(raw), d["status"], ""))
        except HTTPException as exc:
            outcome.append((int(raw), "", str(exc.detail)))
        except Exception as exc:  # a refusal of one dispute is shown, not raised
            outcome.append((int(raw), "", str(exc)))
    return _render(request, "disputes/list.html", p, poll=POLL, outcome=outcome,
                   **_view(request, p))
