"""Pay out from cleared funds only: airlines, the tax authority (withheld tax) and agents
whose remittance is negative, by a pain.001 per operation, currency and payout round.

What each payee may claim depends on the operation's payout rule (``payment_rules.csv``):

* ``hold``: a bill counts only once its agent has paid in full: airline L may claim Σ over
  those agents a of (bill(a, L) - tax withheld on it), the tax authority the withheld tax of
  those bills; an agent owed a credit is paid once the airlines owing it have collected
  enough to fund it (:func:`settled_agents`), and its bills count from then on;
* ``pro_rata``: every payee claims its whole due at once.

The claims still open (claimed minus paid out before) are paid in full when the period's
cleared funds cover them, else shared pro rata with the largest-remainder method, so the
hinge account never pays out money it has not received. Cleared funds of a period = what its
agents paid (up to their dues) minus what was paid out for it already.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from casslink import faults
from casslink.db.engine import session_scope
from casslink.db.models import PayPosting, PayRemittance
from casslink.payments import ledger, pain
from casslink.payments.dues import SettledPeriod
from casslink.payments.references import creditor_reference
from casslink.payments.terms import PaymentTerms
from casslink.settings import Settings
from casslink.storage import atomic_write_bytes


def allocate(pool: int, claims: dict[str, int]) -> dict[str, int]:
    """Share ``pool`` among ``claims`` (all > 0): everything when it covers them, else pro
    rata, floors first, then one unit each by largest remainder (ties by key).

    >>> allocate(100, {"a": 50, "b": 30})
    {'a': 50, 'b': 30}
    >>> allocate(10, {"a": 1, "b": 1, "c": 1, "x": 27})
    {'a': 1, 'b': 0, 'c': 0, 'x': 9}
    >>> allocate(5, {"a": 3, "b": 3})
    {'a': 3, 'b': 2}
    """
    total = sum(claims.values())
    if pool <= 0 or total == 0:
        return dict.fromkeys(claims, 0)
    if pool >= total:
        return dict(claims)
    shares = {k: pool * v // total for k, v in claims.items()}
    left = pool - sum(shares.values())
    order = sorted(claims, key=lambda k: (-(pool * claims[k] % total), k))
    for k in order[:left]:
        shares[k] += 1
    return shares


def settled_agents(s: Session, settled: SettledPeriod, remits: dict) -> set[str]:
    """Under ``hold``: the agents whose bills count. Those that paid in full, then each agent
    owed a credit once every airline that owes it that credit has collected enough from the
    settled agents to fund it (an airline's share never goes below zero)."""
    owed = ledger.agent_balances(s, settled.operation, settled.currency, settled.period_id)
    done = {a for a, r in remits.items() if r.due > 0 and owed.get(a, 0) <= 0}
    per_airline: dict[str, int] = {}
    for (a, prefix), net in settled.bills.items():
        if a in done:
            per_airline[prefix] = per_airline.get(prefix, 0) + net
    for a in sorted(a for a, r in remits.items() if r.due <= 0):
        mine = {p: net for (b, p), net in settled.bills.items() if b == a}
        if all(per_airline.get(p, 0) + net >= 0 for p, net in mine.items()):
            done.add(a)
            for p, net in mine.items():
                per_airline[p] = per_airline.get(p, 0) + net
    return done


def claims(s: Session, settled: SettledPeriod, rule_name: str) -> dict[str, int]:
    """What each payee account may claim by now under the payout rule."""
    op, pid = settled.operation, settled.period_id
    remits = {r.agent_code: r for r in s.scalars(select(PayRemittance).where(
        PayRemittance.operation_code == op, PayRemittance.period_id == pid))}
    done = set(remits) if rule_name == "pro_rata" else settled_agents(s, settled, remits)
    out: dict[str, int] = {}
    for (a, prefix), net in settled.bills.items():
        if a in done:
            tax = settled.bill_tax.get((a, prefix), 0)
            out[ledger.airline(prefix)] = out.get(ledger.airline(prefix), 0) + net - tax
            out[ledger.tax(op)] = out.get(ledger.tax(op), 0) + tax
    for a, r in remits.items():
        if r.due < 0 and a in done:
            out[ledger.agent(a)] = -r.due
    return out


def paid_out(s: Session, operation: str, currency: str, period_id: str, account: str) -> int:
    return ledger.balance(s, operation, currency, account, period_id, ("payout",))


def cleared_funds(s: Session, operation: str, currency: str, period_id: str) -> int:
    """What the period's agents paid (up to their dues) minus what was paid out for it."""
    owed = ledger.agent_balances(s, operation, currency, period_id)
    paid = sum(min(r.due, r.due - owed.get(r.agent_code, 0)) for r in s.scalars(
        select(PayRemittance).where(PayRemittance.operation_code == operation,
                                    PayRemittance.period_id == period_id,
                                    PayRemittance.due > 0)))
    out = ledger.balance(s, operation, currency, ledger.HINGE, period_id, ("payout",))
    return paid + out  # payouts credit the hinge: a negative balance


def _next_round(s: Session, operation: str, period_id: str) -> int:
    keys = s.scalars(select(PayPosting.key).where(
        PayPosting.key.like(f"payout:{operation}:{period_id}:%"))).all()
    rounds = [int(m.group(1)) for k in keys if (m := re.search(r":r(\d+):", k))]
    return max(rounds, default=0) + 1


def payee_reference(operation: str, period_id: str, account: str, remits: dict) -> str:
    kind, _, code = account.partition(":")
    if kind == "agent":
        return remits[code].reference
    tag = {"airline": "A", "tax": "T"}[kind]
    return creditor_reference(f"{operation}{period_id.replace('-', '')}{tag}{code}")


def pay_out(settings: Settings, engine: Engine, settled: SettledPeriod, terms: PaymentTerms,
            day: dt.date, out_dir: Path, now: dt.datetime | None = None) -> dict:
    """One payout round: post what cleared funds allow, write its pain.001 (before the
    commit, under a name of the round: a retry after a crash rewrites the same file)."""
    op, pid, ccy = settled.operation, settled.period_id, settled.currency
    rule = terms.rule(op)
    now = now or dt.datetime.now(dt.UTC)
    result = {"operation": op, "period_id": pid, "file": None, "paid": {}, "held": {}}
    with session_scope(engine) as s:
        remits = {r.agent_code: r for r in s.scalars(select(PayRemittance).where(
            PayRemittance.operation_code == op, PayRemittance.period_id == pid))}
        open_claims = {}
        for account, claim in sorted(claims(s, settled, rule.payout_rule).items()):
            left = claim - paid_out(s, op, ccy, pid, account)
            if left > 0:
                open_claims[account] = left
        pool = min(cleared_funds(s, op, ccy, pid), ledger.check(s, op, ccy))
        shares = allocate(pool, open_claims)
        round_no = _next_round(s, op, pid)
        txs = []
        for account, amount in shares.items():
            kind, _, code = account.partition(":")
            bank = terms.account(rule.tax_account if kind == "tax" else code, op)
            if amount <= 0 or bank is None:
                continue
            key = f"payout:{op}:{pid}:r{round_no}:{account}"
            ledger.post(s, key, op, ccy, account, ledger.HINGE, amount, "payout", day, pid)
            ledger.move(s, key, op, ccy, "out", amount, key, day)
            txs.append(pain.Transaction(payee_reference(op, pid, account, remits), amount,
                                        bank, f"CASS {op} {pid} {account}"))
            result["paid"][account] = amount
        result["held"] = {a: v - result["paid"].get(a, 0) for a, v in open_claims.items()
                          if v - result["paid"].get(a, 0) > 0}
        if txs:
            msg_id = f"CASS-{op}-{pid}-P{round_no}"
            data = pain.credit_transfers(msg_id, now, terms.hinge(op), day, ccy, txs)
            path = Path(out_dir) / f"pain.001-{op}-{ccy}-{pid}-r{round_no}.xml"
            atomic_write_bytes(path, data)
            result["file"] = str(path)
            faults.checkpoint("payments", "payout-file-written")
        ledger.check(s, op, ccy)
    return result
