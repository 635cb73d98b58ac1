"""Read models of the payments pages and API (plain dicts, money in minor units): an agent's
remittances, wallet, top-up instructions and irregularities; an airline's due, paid out and
held per period; the operator's unmatched entries, payment files and agents' statuses.

Every figure comes from :mod:`casslink.payments` (the double-entry ledger, the remittances,
the default state machine); nothing here computes money of its own.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from casslink.db.models import PayAgentEvent, PayEntry, PayIrregularity, PayPosting, PayRemittance
from casslink.payments import defaults, ledger
from casslink.payments.dues import outstanding, wallet_funds
from casslink.payments.references import wallet_reference
from casslink.payments.terms import PaymentTerms, TermsError
from casslink.settings import Settings

OPEN_STATUSES = ("OPEN",)
"""A remittance whose option may still change: not yet debited, paid or credited."""


def remittance_row(s: Session, r: PayRemittance) -> dict:
    owed = outstanding(s, r)
    return {"id": r.id, "operation": r.operation_code, "period": r.period_id,
            "agent": r.agent_code, "currency": r.currency, "due": r.due,
            "paid": r.due - owed, "outstanding": owed, "status": r.status,
            "reference": r.reference, "option": r.option,
            "debit_date": r.debit_date.isoformat() if r.debit_date else None,
            "remittance_date": r.remittance_date.isoformat()}


def remittances(s: Session, agent: str, operation: str | None = None,
                period: str | None = None) -> list[PayRemittance]:
    q = select(PayRemittance).where(PayRemittance.agent_code == agent)
    if operation:
        q = q.where(PayRemittance.operation_code == operation)
    if period:
        q = q.where(PayRemittance.period_id == period)
    return list(s.scalars(q.order_by(PayRemittance.period_id.desc(),
                                     PayRemittance.operation_code)))


def _account(terms: PaymentTerms, operation: str) -> dict | None:
    try:
        acct = terms.hinge(operation)
    except TermsError:
        return None
    return {"holder": acct.holder, "iban": acct.iban, "account_number": acct.account_number,
            "bic": acct.bic}


def option_window(terms: PaymentTerms, r: PayRemittance, today: dt.date) -> dict:
    """The options the remittance's operation offers and the chosen-date window."""
    rule = terms.rule(r.operation_code)
    earliest = today + dt.timedelta(days=rule.clearing_days)
    return {"options": list(rule.options), "earliest": earliest.isoformat(),
            "latest": r.remittance_date.isoformat(),
            "changeable": r.status in OPEN_STATUSES and r.due > 0}


def agent_view(s: Session, terms: PaymentTerms, agent: str, today: dt.date,
               operation: str | None = None, period: str | None = None) -> dict:
    """What the agent's finance page and ``GET /api/v1/payments`` show for an agent."""
    rows = []
    for r in remittances(s, agent, operation, period):
        row = remittance_row(s, r)
        row["choice"] = option_window(terms, r, today)
        rows.append(row)
    ops: dict[str, str] = {}
    for r in remittances(s, agent, operation):
        ops.setdefault(r.operation_code, r.currency)
    wallets = [{"operation": op, "currency": ccy,
                "balance": wallet_funds(s, op, ccy, agent),
                "reference": wallet_reference(op, agent), "account": _account(terms, op)}
               for op, ccy in sorted(ops.items())]
    irregularities = [
        {"operation": i.operation_code, "period": i.period_id, "kind": i.kind,
         "raised_on": i.raised_on.isoformat(), "cure_by": i.cure_by.isoformat(),
         "cured_on": i.cured_on.isoformat() if i.cured_on else None}
        for i in s.scalars(select(PayIrregularity).where(
            PayIrregularity.agent_code == agent,
            *([PayIrregularity.operation_code == operation] if operation else [])
        ).order_by(PayIrregularity.id))]
    ops_seen = sorted(set(ops) | {i["operation"] for i in irregularities})
    return {"participant": agent, "kind": "agent", "remittances": rows, "wallets": wallets,
            "irregularities": irregularities,
            "status": {op: defaults.status_of(s, op, agent) for op in ops_seen}}


def airline_view(s: Session, prefix: str, operation: str | None = None,
                 period: str | None = None) -> dict:
    """Per operation and period: what the airline is due, what was paid out, what is held."""
    account = ledger.airline(prefix)
    q = select(PayPosting.operation_code, PayPosting.period_id, PayPosting.currency).where(
        PayPosting.credit_account == account, PayPosting.kind == "due").distinct()
    if operation:
        q = q.where(PayPosting.operation_code == operation)
    if period:
        q = q.where(PayPosting.period_id == period)
    rows = []
    for op, pid, ccy in sorted(s.execute(q).all(), key=lambda t: (t[1], t[0]), reverse=True):
        due = -ledger.balance(s, op, ccy, account, pid, ("due",))
        paid_out = ledger.balance(s, op, ccy, account, pid, ("payout",))
        rows.append({"operation": op, "period": pid, "currency": ccy, "due": due,
                     "paid_out": paid_out, "held": due - paid_out})
    return {"participant": prefix, "kind": "airline", "periods": rows}


def unmatched_entries(s: Session) -> list[dict]:
    """The bank-statement credits no remittance was found for (waiting in suspense)."""
    return [{"id": e.id, "statement": e.statement_id, "seq": e.seq,
             "operation": e.operation_code, "currency": e.currency, "amount": e.amount,
             "value_date": e.value_date.isoformat(), "reference": e.reference, "info": e.info}
            for e in s.scalars(select(PayEntry).where(
                PayEntry.classification == "UNMATCHED", PayEntry.direction == "CRDT"
            ).order_by(PayEntry.value_date, PayEntry.id))]


def payment_files(settings: Settings) -> list[dict]:
    """The pain.008 and pain.001 files written into the operator folders, newest first."""
    root = settings.home / "payments"
    files = sorted(root.glob("operation=*/period=*/pain.*.xml")) if root.exists() else []
    out = []
    for f in files:
        st = f.stat()
        out.append({"name": f.name, "operation": f.parent.parent.name.split("=", 1)[1],
                    "period": f.parent.name.split("=", 1)[1], "size": st.st_size,
                    "kind": "debits" if f.name.startswith("pain.008") else "payouts",
                    "written": dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)})
    return sorted(out, key=lambda x: (x["period"], x["name"]), reverse=True)


def agent_statuses(s: Session) -> list[dict]:
    """Every agent with an irregularity or a status change: its status per operation, how
    many irregularities are open, and what it still owes (the reinstatement needs zero)."""
    keys = set(s.execute(select(PayIrregularity.operation_code, PayIrregularity.agent_code)))
    keys |= set(s.execute(select(PayAgentEvent.operation_code, PayAgentEvent.agent_code)))
    out = []
    for op, agent in sorted(keys):
        owing = sum(max(outstanding(s, r), 0) for r in remittances(s, agent, op))
        currency = next((r.currency for r in remittances(s, agent, op)), "")
        open_irr = len(s.scalars(select(PayIrregularity.id).where(
            PayIrregularity.operation_code == op, PayIrregularity.agent_code == agent,
            PayIrregularity.cured_on.is_(None))).all())
        out.append({"operation": op, "agent": agent,
                    "status": defaults.status_of(s, op, agent), "open_irregularities": open_irr,
                    "owing": owing, "currency": currency})
    return out

