"""The dispute use cases: raise, decide, withdraw, comment, show, list, escalate. The CLI,
the API and the bulk CSV channel all call these; each checks the actor's rights:

- raise, withdraw and comment: ``dispute`` on the agent;
- decide and comment: ``dispute`` on the airline (an ESCALATED dispute: operators only);
- see: any right on the agent or the airline - anyone else is told the dispute does not
  exist (no IDOR);
- operators: everything.

Every step appends to ``dispute_events``; a dispute row changes only by an allowed
transition (:mod:`.states`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from casslink import access
from casslink.db.engine import session_scope
from casslink.db.models import DcmSeries, Dispute, DisputeAttachment, DisputeEvent, User
from casslink.dispute_rules import load_reasons, load_rules, rule_for
from casslink.faults import checkpoint
from casslink.money import to_decimal, to_minor
from casslink.reference import ReferenceData, load_reference
from casslink.settings import Settings

from . import deadlines, states
from .billed import billed_awb
from .dcm import DcmError, billing_for, dcm_rows, removal


class DisputeError(ValueError):
    """A request that cannot be done (bad input, deadline, transition); the message says why."""


class NotFound(LookupError):
    """No such dispute - or one the actor may not see."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a portal user (rights checked) or the operator's CLI (``user_id`` None)."""

    login: str
    user_id: int | None = None

    @property
    def is_cli_operator(self) -> bool:
        return self.user_id is None


OPERATOR = Actor("operator")


def actor_for(engine: Engine, login: str | None) -> Actor:
    """The actor of ``--as LOGIN`` (a portal user), or the CLI operator without it."""
    if not login:
        return OPERATOR
    with session_scope(engine) as s:
        user = s.scalars(select(User).where(User.login == login)).first()
        if user is None or user.disabled:
            raise DisputeError(f"no enabled user {login!r}")
        return Actor(user.login, user.id)


def _user(s: Session, actor: Actor) -> User | None:
    return None if actor.is_cli_operator else s.get(User, actor.user_id)


def _is_operator(s: Session, actor: Actor) -> bool:
    user = _user(s, actor)
    return user is None or access.is_operator(s, user)


def _can(s: Session, actor: Actor, right: str, code: str, operation: str) -> bool:
    user = _user(s, actor)
    return user is None or access.can(s, user, right, participant_code=code,
                                      operation=operation)


def _visible(s: Session, actor: Actor, d: Dispute) -> bool:
    user = _user(s, actor)
    if user is None or access.is_operator(s, user):
        return True
    if user.disabled:
        return False
    return any(g.code in (d.agent_code, d.airline_prefix) and g.rights
               for g in access.grants_of(s, user))


def _load(s: Session, actor: Actor, dispute_id: int, lock: bool = False) -> Dispute:
    d = s.get(Dispute, dispute_id, with_for_update=lock)
    if d is None or not _visible(s, actor, d):
        raise NotFound(f"no dispute {dispute_id}")
    return d


def _event(s: Session, d: Dispute, actor: Actor, action: str, to: str | None = None,
           **detail) -> None:
    """Append one history entry (``to``: the status the dispute moves to)."""
    s.add(DisputeEvent(dispute_id=d.id, actor=actor.login, action=action,
                       from_status=d.status if to and action != "raised" else None,
                       to_status=to,
                       at=dt.datetime.now(dt.UTC),
                       detail=json.dumps(detail, sort_keys=True, default=str)))


def split_awb(awb: str) -> tuple[str, str]:
    """``020-12345675`` -> (``020``, ``12345675``)."""
    prefix, _, serial = awb.strip().partition("-")
    if not (len(prefix) == 3 and prefix.isdigit() and len(serial) == 8 and serial.isdigit()):
        raise DisputeError(f"AWB {awb!r}: write it as PPP-SSSSSSSS (prefix-serial)")
    return prefix, serial


def _minor(amount: str, currency: str) -> int:
    try:
        value = to_minor(Decimal(amount), currency)
    except (InvalidOperation, ValueError) as exc:
        raise DisputeError(f"amount {amount!r} is not an amount in {currency}") from exc
    if value <= 0:
        raise DisputeError("the amount must be positive")
    return value


def raise_dispute(settings: Settings, engine: Engine, actor: Actor, *, agent: str,
                  airline: str, awb: str, reason: str, amount: str | None = None,
                  component: str | None = None, remove: bool = False, text: str = "",
                  correction_number: str | None = None, today: dt.date | None = None,
                  ref: ReferenceData | None = None, source: str | None = None) -> int:
    """Raise a dispute on a billed AWB; returns its id. ``amount``: the credit claimed, in
    the period's settlement currency (not with ``remove``: the whole AWB is claimed)."""
    ref = ref or load_reference(settings)
    today = today or dt.date.today()
    reference_dir = settings.fixtures_dir / "reference"
    reasons = load_reasons(reference_dir)
    if reason not in reasons:
        raise DisputeError(f"unknown reason {reason!r}: use {', '.join(reasons)}")
    a = ref.airline(airline)
    prefix, serial = split_awb(awb)
    if a is None or a.prefix != prefix:
        raise DisputeError(f"AWB {awb} is not of airline {airline}")
    agent_info = ref.agents.get(agent)
    if agent_info is None:
        raise DisputeError(f"unknown agent {agent!r}")
    op = agent_info.operation
    with session_scope(engine) as s:
        if not _can(s, actor, "dispute", agent, op):
            raise access.Forbidden(f"{actor.login} may not raise disputes for agent {agent}")
    try:
        billed = billed_awb(settings, engine, op, prefix, serial, agent)
    except LookupError as exc:
        raise DisputeError(str(exc)) from exc
    if correction_number and correction_number not in billed.corrections:
        raise DisputeError(f"no CCA/DCM {correction_number} is billed on AWB {awb}")
    currency = ref.operations[op].settlement_currency
    rule = rule_for(load_rules(reference_dir), op)
    period = ref.period(op, billed.period_id)
    try:
        kind = deadlines.kind_on(period, rule, today)
    except deadlines.TooLate as exc:
        raise DisputeError(str(exc)) from exc
    instrument = reasons[reason].instrument_for(kind)
    billing = billing_for(ref, op, billed.period_id)
    remove = remove or reasons[reason].component == "remove"
    if remove:
        if amount is not None:
            raise DisputeError("removing the AWB claims its whole net: give no --amount")
        try:
            claims, claimed = {}, removal(billing, billed)
        except DcmError as exc:
            raise DisputeError(f"the claim cannot be billed on AWB {awb}: {exc}") from exc
    else:
        if amount is None:
            raise DisputeError("give the amount claimed (--amount)")
        comp = component or reasons[reason].component
        claimed = _minor(amount, currency)
        claims = {comp: claimed}
    if claimed <= 0:
        raise DisputeError(f"AWB {awb} nets {claimed}: there is nothing to credit")
    try:
        dcm_rows(billed, claims, remove, claimed, "X", "check", billing=billing,
                 instrument=instrument)
    except (DcmError, KeyError) as exc:
        raise DisputeError(f"the claim cannot be billed on AWB {awb}: {exc}") from exc
    with session_scope(engine) as s:
        d = Dispute(operation_code=op, period_id=billed.period_id, kind=kind,
                    agent_code=agent, airline_prefix=prefix, awb_serial=serial,
                    correction_number=correction_number, reason_code=reason,
                    claims=json.dumps(claims), remove_awb=remove, claimed_minor=claimed,
                    currency=currency, instrument=instrument, text=text,
                    status=states.RAISED,
                    raised_by=actor.login, raised_at=dt.datetime.now(dt.UTC), raised_on=today,
                    response_due=deadlines.response_due(today, rule), source=source)
        s.add(d)
        s.flush()
        _event(s, d, actor, "raised", states.RAISED, kind=kind, claimed=claimed,
               reason=reason, remove=remove, source=source, instrument=instrument)
        return d.id


SERIES = {"DCM": "DP", "CCA": "CP"}
"""The letters of casslink's number series per instrument (4 digits follow)."""


def _next_number(s: Session, prefix: str, instrument: str) -> str:
    """The airline's next CCA or DCM number of casslink's series: ``CP``/``DP`` + 4 digits
    (one series per airline and instrument)."""
    row = s.get(DcmSeries, (prefix, instrument), with_for_update=True)
    if row is None:
        row = DcmSeries(airline_prefix=prefix, instrument=instrument, last_number=0)
        s.add(row)
    row.last_number += 1
    letters = SERIES[instrument]
    if row.last_number > 9999:
        raise DisputeError(f"airline {prefix}: the {instrument} series {letters}0001-"
                           f"{letters}9999 is used up")
    return f"{letters}{row.last_number:04d}"


def _check_billable(settings: Settings, engine: Engine, ref: ReferenceData, d: Dispute,
                    accepted: int, period_id: str) -> None:
    """Refuse an acceptance whose CCA/DCM could not bill exactly ``accepted`` (e.g. an
    amount no whole change of a foreign-currency AWB reaches) before anything is decided."""
    try:
        billed = billed_awb(settings, engine, d.operation_code, d.airline_prefix,
                            d.awb_serial, d.agent_code)
        dcm_rows(billed, json.loads(d.claims), d.remove_awb, accepted, "X", "check",
                 billing=billing_for(ref, d.operation_code, period_id),
                 instrument=d.instrument)
    except (LookupError, DcmError, KeyError) as exc:
        raise DisputeError(f"accepting {to_decimal(accepted, d.currency)} cannot be billed "
                           f"on AWB {d.airline_prefix}-{d.awb_serial}: {exc}") from exc


def decide(settings: Settings, engine: Engine, actor: Actor, dispute_id: int, *,
           accept: bool, amount: str | None = None, text: str = "",
           today: dt.date | None = None, ref: ReferenceData | None = None,
           bill: bool = True) -> dict:
    """Accept (fully, or ``amount`` of the claim) or reject a dispute; an acceptance bills
    its DCM at once (``bill``) into the period :func:`deadlines.adjustment_period` names."""
    from .adjust import adjust

    ref = ref or load_reference(settings)
    today = today or dt.date.today()
    with session_scope(engine) as s:
        d = _load(s, actor, dispute_id, lock=True)
        if d.status == states.ESCALATED:
            if not _is_operator(s, actor):
                raise access.Forbidden(f"dispute {d.id} is escalated: operators decide it")
        elif not _can(s, actor, "dispute", d.airline_prefix, None):
            raise access.Forbidden(f"{actor.login} may not decide disputes of airline "
                                   f"{d.airline_prefix}")
        if not accept:
            if not text.strip():
                raise DisputeError("a rejection states its reason (--text)")
            states.check(d.status, states.REJECTED, d.id)
            _event(s, d, actor, "rejected", states.REJECTED, text=text)
            d.status = states.REJECTED
        else:
            accepted = d.claimed_minor if amount is None else _minor(amount, d.currency)
            if accepted > d.claimed_minor:
                raise DisputeError(f"accepted {to_decimal(accepted, d.currency)} exceeds the "
                                   f"claim {to_decimal(d.claimed_minor, d.currency)}")
            status = states.ACCEPTED if accepted == d.claimed_minor else states.PARTLY_ACCEPTED
            states.check(d.status, status, d.id)
            period = deadlines.adjustment_period(ref, d.operation_code, today)
            _check_billable(settings, engine, ref, d, accepted, period.period_id)
            d.dcm_number = _next_number(s, d.airline_prefix, d.instrument)
            d.adjust_period_id, d.accepted_minor = period.period_id, accepted
            _event(s, d, actor, "accepted", status, accepted=accepted, text=text,
                   instrument=d.instrument, dcm_number=d.dcm_number, period=period.period_id)
            d.status = status
        d.decision_text, d.decided_by = text, actor.login
        d.decided_at = dt.datetime.now(dt.UTC)
    checkpoint("dispute", "decided")
    if accept and bill:
        adjust(settings, engine, dispute_id, ref)
    return show(engine, actor, dispute_id)


def withdraw(engine: Engine, actor: Actor, dispute_id: int, text: str = "") -> dict:
    """The agent withdraws an undecided dispute."""
    with session_scope(engine) as s:
        d = _load(s, actor, dispute_id, lock=True)
        if not _can(s, actor, "dispute", d.agent_code, d.operation_code):
            raise access.Forbidden(f"{actor.login} may not withdraw disputes of agent "
                                   f"{d.agent_code}")
        states.check(d.status, states.WITHDRAWN, d.id)
        _event(s, d, actor, "withdrawn", states.WITHDRAWN, text=text)
        d.status = states.WITHDRAWN
    return show(engine, actor, dispute_id)


def comment(engine: Engine, actor: Actor, dispute_id: int, text: str) -> dict:
    """A comment in the dispute's thread, by either party (``dispute`` right) or operators."""
    if not text.strip():
        raise DisputeError("an empty comment")
    with session_scope(engine) as s:
        d = _load(s, actor, dispute_id)
        if not (_can(s, actor, "dispute", d.agent_code, d.operation_code)
                or _can(s, actor, "dispute", d.airline_prefix, None)):
            raise access.Forbidden(f"{actor.login} may not comment on dispute {d.id}")
        _event(s, d, actor, "comment", text=text)
    return show(engine, actor, dispute_id)


def as_dict(d: Dispute) -> dict:
    return {"id": d.id, "operation": d.operation_code, "period": d.period_id,
            "kind": d.kind, "agent": d.agent_code, "airline": d.airline_prefix,
            "awb": f"{d.airline_prefix}-{d.awb_serial}",
            "correction_number": d.correction_number, "reason": d.reason_code,
            "claims": json.loads(d.claims), "remove_awb": d.remove_awb,
            "claimed": str(to_decimal(d.claimed_minor, d.currency)),
            "claimed_minor": d.claimed_minor, "currency": d.currency, "text": d.text,
            "status": d.status, "raised_by": d.raised_by, "raised_on": d.raised_on.isoformat(),
            "response_due": d.response_due.isoformat(),
            "accepted_minor": d.accepted_minor, "decision_text": d.decision_text,
            "decided_by": d.decided_by, "instrument": d.instrument,
            "dcm_number": d.dcm_number,
            "adjust_period": d.adjust_period_id, "file_id": d.file_id}


def show(engine: Engine, actor: Actor, dispute_id: int) -> dict:
    """The dispute with its history (comments included) and attachments."""
    with session_scope(engine) as s:
        d = _load(s, actor, dispute_id)
        out = as_dict(d)
        out["history"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "from": e.from_status, "to": e.to_status, "detail": json.loads(e.detail)}
            for e in s.scalars(select(DisputeEvent).where(DisputeEvent.dispute_id == d.id)
                               .order_by(DisputeEvent.id))]
        out["attachments"] = [
            {"id": a.id, "name": a.name, "media_type": a.media_type, "sha256": a.sha256,
             "size": a.size}
            for a in s.scalars(select(DisputeAttachment)
                               .where(DisputeAttachment.dispute_id == d.id))]
        return out


def list_disputes(engine: Engine, actor: Actor, *, status: str | None = None,
                  agent: str | None = None, airline: str | None = None,
                  operation: str | None = None) -> list[dict]:
    """The disputes the actor may see, filtered, oldest first."""
    with session_scope(engine) as s:
        q = select(Dispute).order_by(Dispute.id)
        if status:
            q = q.where(Dispute.status == status.upper())
        if agent:
            q = q.where(Dispute.agent_code == agent)
        if airline:
            q = q.where(Dispute.airline_prefix == airline)
        if operation:
            q = q.where(Dispute.operation_code == operation.upper())
        user = _user(s, actor)
        if user is not None and not access.is_operator(s, user):
            codes = [g.code for g in access.grants_of(s, user) if g.rights]
            q = q.where(or_(Dispute.agent_code.in_(codes), Dispute.airline_prefix.in_(codes)))
        return [as_dict(d) for d in s.scalars(q) if _visible(s, actor, d)]


def escalate_overdue(engine: Engine, today: dt.date | None = None) -> list[int]:
    """RAISED disputes whose response deadline has passed become ESCALATED (run daily)."""
    today = today or dt.date.today()
    system = Actor("casslink")
    done = []
    with session_scope(engine) as s:
        for d in s.scalars(select(Dispute).where(Dispute.status == states.RAISED,
                                                 Dispute.response_due < today)
                           .with_for_update()):
            _event(s, d, system, "escalated", states.ESCALATED,
                   response_due=d.response_due.isoformat())
            d.status = states.ESCALATED
            done.append(d.id)
    return done
