"""What a settled period owes, posted into the payment ledger once.

The settled ledger (:func:`casslink.settlement.run.latest_ledger`) gives each agent's
remittance (``agents.parquet``: ``net``, negative = CASS owes the agent) and each airline's
settlement (``airlines.parquet``: ``payable`` and ``tax_withheld`` when the settlement
withholds tax, else ``net`` and 0). :func:`post_dues` posts them against the period's
``settlement`` account, which must come out at zero, and opens one remittance per agent with
its unique reference and payment option. :func:`apply_wallets` pays remittances from the
agents' prepayment wallets first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from casslink.db.models import PayRemittance
from casslink.payments import ledger
from casslink.payments.references import remittance_reference
from casslink.payments.terms import PaymentRule
from casslink.settlement.run import read_ledger


@dataclass
class SettledPeriod:
    """The amounts of one settled period (minor units of ``currency``)."""

    operation: str
    period_id: str
    currency: str
    agents: dict[str, int] = field(default_factory=dict)  # agent -> remittance
    payable: dict[str, int] = field(default_factory=dict)  # airline -> net - tax withheld
    withheld: dict[str, int] = field(default_factory=dict)  # airline -> tax withheld
    bills: dict[tuple[str, str], int] = field(default_factory=dict)  # (agent, airline) -> net
    bill_tax: dict[tuple[str, str], int] = field(default_factory=dict)  # withheld per bill


def read_settled(folder: Path, operation: str, period_id: str, currency: str) -> SettledPeriod:
    """The amounts of the settled ledger in ``folder``; works with and without tax columns."""
    tables = read_ledger(folder)
    out = SettledPeriod(operation, period_id, currency)
    out.agents = {r["agent_code"]: int(r["net"]) for r in tables["agents"].to_pylist()}
    for r in tables["airlines"].to_pylist():
        withheld = int(r.get("tax_withheld") or 0)
        out.withheld[r["airline_prefix"]] = withheld
        out.payable[r["airline_prefix"]] = int(r["payable"]) if r.get("payable") is not None \
            else int(r["net"]) - withheld
    for r in tables["bills"].select(["agent_code", "airline_prefix", "net"]).to_pylist():
        out.bills[(r["agent_code"], r["airline_prefix"])] = int(r["net"])
    tax_file = Path(folder) / "tax.parquet"
    if tax_file.exists():
        for r in pq.read_table(tax_file).to_pylist():
            if r.get("side") == "withheld":
                key = (r["agent_code"], r["airline_prefix"])
                out.bill_tax[key] = out.bill_tax.get(key, 0) + int(r["tax"])
    return out


def post_dues(s: Session, settled: SettledPeriod, rule: PaymentRule,
              remittance_date: dt.date) -> list[PayRemittance]:
    """Post the period's dues and open its remittances (a second call posts nothing)."""
    op, pid, ccy = settled.operation, settled.period_id, settled.currency
    for code, due in sorted(settled.agents.items()):
        ledger.post(s, f"due:{op}:{pid}:agent:{code}", op, ccy, ledger.agent(code),
                    ledger.SETTLEMENT, due, "due", remittance_date, pid)
    for prefix, payable in sorted(settled.payable.items()):
        ledger.post(s, f"due:{op}:{pid}:airline:{prefix}", op, ccy, ledger.SETTLEMENT,
                    ledger.airline(prefix), payable, "due", remittance_date, pid)
    withheld = sum(settled.withheld.values())
    ledger.post(s, f"due:{op}:{pid}:tax", op, ccy, ledger.SETTLEMENT, ledger.tax(op), withheld,
                "due", remittance_date, pid)
    existing = {r.agent_code: r for r in s.scalars(select(PayRemittance).where(
        PayRemittance.operation_code == op, PayRemittance.period_id == pid))}
    for code, due in sorted(settled.agents.items()):
        if code in existing:
            continue
        option = rule.default_option if due > 0 else "transfer"
        row = PayRemittance(operation_code=op, period_id=pid, agent_code=code, currency=ccy,
                            due=due, reference=remittance_reference(op, pid, code),
                            option=option, remittance_date=remittance_date,
                            debit_date=remittance_date if option in ("debit", "chosen_date")
                            else None, status="OPEN" if due > 0 else "CREDIT")
        s.add(row)
        existing[code] = row
    s.flush()
    return [existing[c] for c in sorted(existing)]


def outstanding(s: Session, r: PayRemittance) -> int:
    """What the agent still owes for the remittance (negative: what CASS still owes it)."""
    return ledger.balance(s, r.operation_code, r.currency, ledger.agent(r.agent_code),
                          r.period_id)


def wallet_funds(s: Session, operation: str, currency: str, agent_code: str) -> int:
    return -ledger.balance(s, operation, currency, ledger.wallet(agent_code))


def apply_wallets(s: Session, remittances: list[PayRemittance], day: dt.date) -> int:
    """Pay each remittance from its agent's wallet first (not one whose direct debit is
    already on its way to the bank); returns the total taken."""
    taken = 0
    for r in remittances:
        if r.status == "DEBITED":
            continue
        owed = outstanding(s, r)
        funds = wallet_funds(s, r.operation_code, r.currency, r.agent_code)
        amount = min(owed, funds)
        if amount <= 0:
            continue
        already = ledger.balance(s, r.operation_code, r.currency, ledger.wallet(r.agent_code),
                                 r.period_id, ("wallet",))
        ledger.post(s, f"wallet:{r.operation_code}:{r.period_id}:{r.agent_code}:{already}",
                    r.operation_code, r.currency, ledger.wallet(r.agent_code),
                    ledger.agent(r.agent_code), amount, "wallet", day, r.period_id,
                    note=r.reference)
        taken += amount
        if outstanding(s, r) <= 0:
            r.status = "PAID"
    return taken


def choose_option(s: Session, r: PayRemittance, rule: PaymentRule, option: str,
                  today: dt.date, debit_date: dt.date | None = None) -> PayRemittance:
    """The agent's choice of how to pay (finance right): an option the operation offers; a
    chosen date no earlier than today plus the clearing days, no later than the remittance
    date (CNS, cass-business.md §4.1)."""
    if option not in rule.options:
        raise ValueError(f"operation {rule.operation} does not offer {option!r} "
                         f"(it offers {', '.join(rule.options)})")
    if option == "chosen_date":
        earliest = today + dt.timedelta(days=rule.clearing_days)
        if debit_date is None or not earliest <= debit_date <= r.remittance_date:
            raise ValueError(f"a chosen debit date must be between {earliest} and the "
                             f"remittance date {r.remittance_date}, not {debit_date}")
    elif option == "debit":
        debit_date = r.remittance_date
    else:
        debit_date = None
    r.option, r.debit_date = option, debit_date
    s.flush()
    return r
