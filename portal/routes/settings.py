"""Self-service settings of a participant: which outputs it receives (settlement delivery,
``casslink.outputs.deliver``, and the legal invoices' formats, ``casslink.outputs.invoices``,
read ``participants.output_formats``; at least one settlement format and - invoices are legal
documents - at least one invoice format), the language of its documents and a contact
email. Reading needs ``view``, changing needs ``admin``; every change goes to the audit log."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session as DbSession

from casslink import access, i18n
from casslink.db.models import Participant
from casslink.outputs.formats import FORMATS, INVOICE_FORMATS, OUTPUTS
from casslink.portal import views
from casslink.portal.deps import DB, Principal, current_user, selected_participant
from casslink.portal.rendering import render

router = APIRouter()
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}")


class SettingsIn(BaseModel):
    outputs: list[str]
    language: str | None = None
    contact_email: str | None = None


class NoInvoiceFormat(HTTPException):
    """Settings naming no invoice format (422): the settings page says so in the user's
    language."""

    def __init__(self) -> None:
        formats = " and/or ".join(INVOICE_FORMATS)
        super().__init__(422, f"outputs: at least one invoice format ({formats}): invoices "
                              "are legal documents")


def settings_of(part: Participant) -> dict:
    """The participant's settings; ``outputs`` as delivered: settings saved naming no invoice
    format (before those choices existed) receive both
    (``casslink.outputs.invoices.deliver``)."""
    chosen = [f.strip() for f in (part.output_formats or "").split(",") if f.strip()]
    if chosen and not set(chosen) & set(INVOICE_FORMATS):
        chosen += INVOICE_FORMATS
    return {"participant": part.code, "outputs": chosen or list(OUTPUTS),
            "available_outputs": list(OUTPUTS), "language": part.language,
            "contact_email": part.contact_email}


def change(s: DbSession, p: Principal, part: Participant, new: SettingsIn) -> dict:
    """Validate and store new settings (422 for a bad value); audited."""
    outputs = [f for f in OUTPUTS if f in set(new.outputs)]
    if outputs and not set(outputs) & set(INVOICE_FORMATS):
        raise NoInvoiceFormat
    if not set(outputs) & set(FORMATS) or set(new.outputs) - set(OUTPUTS):
        raise HTTPException(422, f"outputs: one or more of {', '.join(FORMATS)}; for "
                                 f"invoices {' and/or '.join(INVOICE_FORMATS)}")
    if new.language is not None and new.language not in i18n.LANGUAGES:
        raise HTTPException(422, f"language: one of {', '.join(i18n.LANGUAGES)}")
    email = (new.contact_email or "").strip() or None
    if email is not None and not EMAIL.fullmatch(email):
        raise HTTPException(422, "contact_email: not an email address")
    before = settings_of(part)
    part.output_formats = ",".join(outputs)
    part.language, part.contact_email = new.language, email
    after = settings_of(part)
    access.audit(s, p.login, "settings.change", part.code,
                 {k: [before[k], after[k]] for k in ("outputs", "language", "contact_email")
                  if before[k] != after[k]}, p.company_id)
    return after


def _part(s: DbSession, p: Principal, code: str, right: str) -> Participant:
    p.require(right, code)
    part = views.participant(s, code)
    if part is None:
        raise HTTPException(404, "no such participant")
    return part


@router.get("/api/v1/settings", tags=["settings"])
def api_get(participant: str, p: Principal = Depends(current_user),
            s: DbSession = DB) -> dict:
    """The participant's outputs, document language and contact email."""
    return settings_of(_part(s, p, participant, "view"))


@router.put("/api/v1/settings", tags=["settings"])
def api_put(participant: str, body: SettingsIn, p: Principal = Depends(current_user),
            s: DbSession = DB) -> dict:
    """Change them (needs the ``admin`` right on the participant)."""
    return change(s, p, _part(s, p, participant, "admin"), body)


@router.get("/settings", include_in_schema=False)
def page(request: Request, p: Principal = Depends(current_user), s: DbSession = DB):
    code = selected_participant(request, p)
    part = _part(s, p, code, "view") if code else None
    return render(request, "settings.html", current_code=code,
                  settings=settings_of(part) if part else None,
                  can_edit=bool(part and p.can("admin", code)),
                  saved=request.query_params.get("saved") == "1")


@router.post("/settings", include_in_schema=False)
def page_save(request: Request, outputs: list[str] = Form([]), language: str = Form(""),
              contact_email: str = Form(""), p: Principal = Depends(current_user),
              s: DbSession = DB):
    code = selected_participant(request, p)
    if code is None:
        raise HTTPException(404, "no participant")
    part = _part(s, p, code, "admin")
    wanted = SettingsIn(outputs=outputs, language=language or None, contact_email=contact_email)
    try:
        change(s, p, part, wanted)
    except NoInvoiceFormat:  # the form again, as sent, with the reason in the user's language
        return render(request, "settings.html", status_code=422, current_code=code,
                      settings={**settings_of(part), **wanted.model_dump()}, can_edit=True,
                      error="no_invoice_format")
    return RedirectResponse("/settings?saved=1", status_code=303)
