"""What a period's payments look like: each agent's due, paid and status; each airline's
due, paid out and held; the hinge balance. Plain rows (CLI tables, JSON, the portal)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from casslink.db.engine import session_scope
from casslink.db.models import PayPosting, PayRemittance
from casslink.payments import defaults, ledger
from casslink.payments.dues import outstanding

AGENT_COLUMNS = ("agent_code", "reference", "option", "due", "paid", "outstanding", "status",
                 "agent_status")
PAYEE_COLUMNS = ("payee", "due", "paid_out", "held")


def show(engine: Engine, operation: str, period_id: str) -> dict:
    with session_scope(engine) as s:
        remits = s.scalars(select(PayRemittance).where(
            PayRemittance.operation_code == operation, PayRemittance.period_id == period_id
        ).order_by(PayRemittance.agent_code)).all()
        if not remits:
            raise ValueError(f"{operation} {period_id} has not been collected")
        ccy = remits[0].currency
        agents = []
        for r in remits:
            owed = outstanding(s, r)
            agents.append(dict(agent_code=r.agent_code, reference=r.reference, option=r.option,
                               due=r.due, paid=r.due - owed, outstanding=owed, status=r.status,
                               agent_status=defaults.status_of(s, operation, r.agent_code)))
        payees = sorted(set(s.scalars(select(PayPosting.credit_account).where(
            PayPosting.operation_code == operation, PayPosting.period_id == period_id,
            PayPosting.kind == "due", PayPosting.debit_account == ledger.SETTLEMENT))))
        rows = []
        for account in payees:
            due = -ledger.balance(s, operation, ccy, account, period_id, ("due",))
            out = ledger.balance(s, operation, ccy, account, period_id, ("payout",))
            rows.append(dict(payee=account, due=due, paid_out=out, held=due - out))
        return {"operation": operation, "period_id": period_id, "currency": ccy,
                "agents": agents, "payees": rows, "hinge": ledger.check(s, operation, ccy)}
