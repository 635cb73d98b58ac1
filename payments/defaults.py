"""Irregularity → default, as a state machine over per-operation data (grace days, a rolling
window of months, a threshold; ``payment_rules.csv``), after cass-business.md §4.2:

* a SHORT, LATE or RETURNED payment, or none by the remittance date plus the grace (UNPAID),
  raises an **irregularity notice**: into the agent's outbox, and to each airline it owes;
* paying in full by the notice's cure date cures it: the agent stays ``ACTIVE``, the
  irregularity stays on record (a LATE payment is cured as it arrives);
* the threshold-th irregularity within the window (counted since the last reinstatement),
  or a notice not cured by its date, makes the agent ``DEFAULTED``; its airlines are told;
* full payment plus an operator's decision makes it ``REINSTATED`` (:func:`reinstate`).

Every transition is a row of ``pay_agent_events`` (who, when, why).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from casslink.db.models import PayAgentEvent, PayIrregularity, PayRemittance
from casslink.outbox import write_to_outbox
from casslink.payments.dues import outstanding
from casslink.payments.terms import PaymentRule
from casslink.settings import Settings

ACTIVE, DEFAULTED, REINSTATED = "ACTIVE", "DEFAULTED", "REINSTATED"
TRANSITIONS = {(ACTIVE, DEFAULTED), (REINSTATED, DEFAULTED), (DEFAULTED, REINSTATED)}
NOTICE_COLUMNS = ("notice", "operation", "agent_code", "period_id", "reference", "kind",
                  "currency", "due", "outstanding", "raised_on", "cure_by", "status")


class TransitionError(ValueError):
    """A status change the state machine does not allow."""


def months_before(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    last = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(y, m, min(day.day, last))


def status_of(s: Session, operation: str, agent_code: str) -> str:
    last = s.scalars(select(PayAgentEvent).where(
        PayAgentEvent.operation_code == operation, PayAgentEvent.agent_code == agent_code,
        PayAgentEvent.action == "status").order_by(PayAgentEvent.id.desc())).first()
    return last.to_status if last else ACTIVE


class Book:
    """What the state machine reads and records, from and into the database (a bank
    statement's import keeps them in memory instead: ``payments.import_state``)."""

    def __init__(self, s: Session) -> None:
        self.s = s

    def outstanding(self, r: PayRemittance) -> int:
        return outstanding(self.s, r)

    def has_uncured(self, r: PayRemittance) -> bool:
        """Whether an irregularity of ``r``'s agent and period is still uncured."""
        return self.s.scalars(select(PayIrregularity.id).where(
            PayIrregularity.operation_code == r.operation_code,
            PayIrregularity.agent_code == r.agent_code,
            PayIrregularity.period_id == r.period_id,
            PayIrregularity.cured_on.is_(None))).first() is not None

    def status(self, operation: str, agent_code: str) -> str:
        return status_of(self.s, operation, agent_code)

    def counted(self, operation: str, agent_code: str, since: dt.date) -> int:
        """The agent's irregularities raised after ``since`` and since its reinstatement."""
        return len(self.s.scalars(select(PayIrregularity.id).where(
            PayIrregularity.operation_code == operation,
            PayIrregularity.agent_code == agent_code, PayIrregularity.raised_on > since,
            PayIrregularity.id > _reinstated_after(self.s, operation, agent_code))).all())

    def record(self, row: PayIrregularity | PayAgentEvent) -> None:
        self.s.add(row)
        self.s.flush()


def transition(s: Session, operation: str, agent_code: str, to: str, actor: str,
               reason: str, book: Book | None = None) -> PayAgentEvent:
    book = book or Book(s)
    now = book.status(operation, agent_code)
    if (now, to) not in TRANSITIONS:
        raise TransitionError(f"agent {agent_code}: {now} -> {to} is not allowed")
    row = PayAgentEvent(operation_code=operation, agent_code=agent_code, action="status",
                        from_status=now, to_status=to, actor=actor, reason=reason)
    book.record(row)
    return row


class Notifier:
    """Writes notices into outboxes: the agent's and those of the airlines it owes."""

    def __init__(self, settings: Settings | None, owed_airlines) -> None:
        self.settings, self.owed_airlines = settings, owed_airlines

    def send(self, name: str, r: PayRemittance, rows: list[dict]) -> None:
        if self.settings is None:
            return
        buf = io.StringIO()
        w = csv.DictWriter(buf, NOTICE_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        data = buf.getvalue().encode()
        for code in (r.agent_code, *self.owed_airlines(r)):
            write_to_outbox(self.settings, code, name, data)


def _row(notice: str, r: PayRemittance, kind: str, owed: int, raised: dt.date,
         cure_by: dt.date | None, status: str) -> dict:
    return dict(notice=notice, operation=r.operation_code, agent_code=r.agent_code,
                period_id=r.period_id, reference=r.reference, kind=kind, currency=r.currency,
                due=r.due, outstanding=owed, raised_on=raised.isoformat(),
                cure_by=cure_by.isoformat() if cure_by else "", status=status)


def raise_irregularity(s: Session, r: PayRemittance, kind: str, day: dt.date,
                       rule: PaymentRule, notifier: Notifier, actor: str = "system",
                       book: Book | None = None) -> PayIrregularity | None:
    """Record an irregularity of ``r`` (none while one of it is still uncured), notify, and
    default the agent when it reaches the threshold. Returns the new irregularity."""
    book = book or Book(s)
    if book.has_uncured(r):
        return None
    owed = book.outstanding(r)
    irr = PayIrregularity(operation_code=r.operation_code, agent_code=r.agent_code,
                          period_id=r.period_id, kind=kind, raised_on=day,
                          cure_by=day + dt.timedelta(days=rule.grace_days),
                          cured_on=day if owed <= 0 else None)
    book.record(irr)
    status = book.status(r.operation_code, r.agent_code)
    notifier.send(f"irregularity-{r.operation_code}-{r.period_id}-{r.agent_code}-{kind}.csv",
                  r, [_row("irregularity", r, kind, owed, day, irr.cure_by, status)])
    count = book.counted(r.operation_code, r.agent_code, months_before(day, rule.window_months))
    if count >= rule.threshold and status != DEFAULTED:
        default(s, r, f"{count} irregularities within {rule.window_months} months "
                f"(threshold {rule.threshold})", day, notifier, actor, book)
    return irr


def _reinstated_after(s: Session, operation: str, agent_code: str) -> int:
    """Irregularities up to this id were forgiven by the agent's last reinstatement (its
    reason ends with ``#<id>``); 0 when it was never reinstated."""
    event = s.scalars(select(PayAgentEvent).where(
        PayAgentEvent.operation_code == operation, PayAgentEvent.agent_code == agent_code,
        PayAgentEvent.to_status == REINSTATED).order_by(PayAgentEvent.id.desc())).first()
    return int(event.reason.rsplit("#", 1)[-1]) if event and "#" in event.reason else 0


def default(s: Session, r: PayRemittance, reason: str, day: dt.date, notifier: Notifier,
            actor: str = "system", book: Book | None = None) -> None:
    book = book or Book(s)
    transition(s, r.operation_code, r.agent_code, DEFAULTED, actor, reason, book)
    notifier.send(f"default-{r.operation_code}-{r.agent_code}-{day.isoformat()}.csv", r,
                  [_row("default", r, "DEFAULT", book.outstanding(r), day, None, DEFAULTED)])


def cure(s: Session, r: PayRemittance, day: dt.date, owed: int | None = None,
         uncured: list[PayIrregularity] | None = None) -> int:
    """Mark the remittance's open irregularities cured when it is paid in full by their cure
    date (``owed``: its outstanding amount, when known; ``uncured``: its open irregularities,
    when known - the cured ones leave the list, nothing is flushed); returns how many were
    cured."""
    if (outstanding(s, r) if owed is None else owed) > 0:
        return 0
    known = uncured is not None
    if uncured is None:
        uncured = list(s.scalars(select(PayIrregularity).where(
            PayIrregularity.operation_code == r.operation_code,
            PayIrregularity.agent_code == r.agent_code,
            PayIrregularity.period_id == r.period_id, PayIrregularity.cured_on.is_(None))))
    cured = [irr for irr in uncured if day <= irr.cure_by]
    for irr in cured:
        irr.cured_on = day
        uncured.remove(irr)
    if not known:
        s.flush()
    return len(cured)


def review(s: Session, operation: str, rule: PaymentRule, today: dt.date,
           notifier: Notifier) -> dict[str, int]:
    """The daily sweep: an open remittance past its remittance date plus the grace raises an
    UNPAID irregularity; an irregularity past its cure date, still owed, defaults the agent."""
    raised = defaulted = 0
    for r in s.scalars(select(PayRemittance).where(
            PayRemittance.operation_code == operation, PayRemittance.due > 0).order_by(
            PayRemittance.id)).all():
        if outstanding(s, r) <= 0:
            continue
        if today > r.remittance_date + dt.timedelta(days=rule.grace_days) and \
                raise_irregularity(s, r, "UNPAID", today, rule, notifier) is not None:
            raised += 1
        late = s.scalars(select(PayIrregularity).where(
            PayIrregularity.operation_code == operation,
            PayIrregularity.agent_code == r.agent_code,
            PayIrregularity.period_id == r.period_id, PayIrregularity.cured_on.is_(None),
            PayIrregularity.cure_by < today)).first()
        if late is not None and status_of(s, operation, r.agent_code) != DEFAULTED:
            default(s, r, f"irregularity {late.kind} of {r.period_id} not cured by "
                    f"{late.cure_by}", today, notifier)
            defaulted += 1
    return {"raised": raised, "defaulted": defaulted}


def reinstate(s: Session, operation: str, agent_code: str, actor: str, reason: str
              ) -> PayAgentEvent:
    """The operator's decision, once the agent owes nothing: DEFAULTED -> REINSTATED."""
    owing = [r.period_id for r in s.scalars(select(PayRemittance).where(
        PayRemittance.operation_code == operation, PayRemittance.agent_code == agent_code))
        if outstanding(s, r) > 0]
    if owing:
        raise TransitionError(f"agent {agent_code} still owes for {', '.join(owing)}")
    last = s.scalars(select(PayIrregularity.id).where(
        PayIrregularity.operation_code == operation, PayIrregularity.agent_code == agent_code
    ).order_by(PayIrregularity.id.desc())).first() or 0
    return transition(s, operation, agent_code, REINSTATED, actor, f"{reason} #{last}")


def agent_status(engine: Engine, agent_code: str) -> dict:
    """The agent's status per operation, its transitions and irregularities."""
    from casslink.db.engine import session_scope

    with session_scope(engine) as s:
        events = s.scalars(select(PayAgentEvent).where(
            PayAgentEvent.agent_code == agent_code).order_by(PayAgentEvent.id)).all()
        irregularities = s.scalars(select(PayIrregularity).where(
            PayIrregularity.agent_code == agent_code).order_by(PayIrregularity.id)).all()
        ops = sorted({e.operation_code for e in events} |
                     {i.operation_code for i in irregularities})
        return {
            "agent_code": agent_code,
            "status": {op: status_of(s, op, agent_code) for op in ops} or {"*": ACTIVE},
            "events": [dict(operation=e.operation_code, action=e.action, from_status=e.from_status,
                            to_status=e.to_status, actor=e.actor, reason=e.reason,
                            at=e.at.isoformat()) for e in events],
            "irregularities": [dict(operation=i.operation_code, period_id=i.period_id,
                                    kind=i.kind, raised_on=i.raised_on.isoformat(),
                                    cure_by=i.cure_by.isoformat(),
                                    cured_on=i.cured_on.isoformat() if i.cured_on else None)
                               for i in irregularities]}
