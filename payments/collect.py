"""Collect a settled period: post its dues, pay from wallets, write the direct debits
(pain.008, one file per collection date), then pay out what cleared funds allow.

A remittance is debited once: its status turns ``DEBITED`` in the transaction that writes
the file (the file is written first, under a name of its date and period, so a retry after a
crash rewrites the same file and commits once).
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from pathlib import Path

from sqlalchemy import Engine, select

from casslink import faults
from casslink.db.engine import session_scope
from casslink.db.models import PayRemittance
from casslink.payments import defaults, ledger, pain
from casslink.payments.dues import (
    SettledPeriod,
    apply_wallets,
    outstanding,
    post_dues,
    read_settled,
)
from casslink.payments.payouts import pay_out
from casslink.payments.terms import PaymentTerms
from casslink.reference import PeriodInfo, ReferenceData
from casslink.settings import Settings
from casslink.settlement.run import latest_ledger
from casslink.storage import atomic_write_bytes


def operator_folder(settings: Settings, operation: str, period_id: str) -> Path:
    """Where the payment files of a period go (the portal lists them)."""
    return settings.home / "payments" / f"operation={operation}" / f"period={period_id}"


def settled_period(engine: Engine, operation: str, period_text: str
                   ) -> tuple[PeriodInfo, SettledPeriod]:
    ref = ReferenceData.from_db(engine)
    period = ref.resolve_period(operation, period_text)
    if period is None:
        raise ValueError(f"{operation} has no period {period_text}")
    ccy = ref.operations[operation].settlement_currency
    return period, read_settled(latest_ledger(engine, operation, period.period_id), operation,
                                period.period_id, ccy)


def post_period(engine: Engine, terms: PaymentTerms, operation: str, period_text: str,
                today: dt.date) -> SettledPeriod:
    """Post the period's dues and open its remittances (idempotent); wallets pay first."""
    period, settled = settled_period(engine, operation, period_text)
    with session_scope(engine) as s:
        remits = post_dues(s, settled, terms.rule(operation), period.remittance_date)
        if apply_wallets(s, remits, today):
            for r in remits:  # paid in full from the wallet: open notices are cured
                defaults.cure(s, r, today)
        ledger.check(s, operation, settled.currency)
    return settled


def collect(settings: Settings, engine: Engine, terms: PaymentTerms, operation: str,
            period_text: str, today: dt.date, out_dir: Path | None = None,
            now: dt.datetime | None = None) -> dict:
    """``casslink payments collect``: dues, wallets, pain.008 files, a payout round."""
    settled = post_period(engine, terms, operation, period_text, today)
    op, pid, ccy = settled.operation, settled.period_id, settled.currency
    out_dir = Path(out_dir) if out_dir else operator_folder(settings, op, pid)
    now = now or dt.datetime.now(dt.UTC)
    summary: dict = {"operation": op, "period_id": pid, "currency": ccy, "debit_files": [],
                     "debits": 0, "debited": 0, "no_bank_details": []}
    with session_scope(engine) as s:
        todo = []
        for r in s.scalars(select(PayRemittance).where(
                PayRemittance.operation_code == op, PayRemittance.period_id == pid,
                PayRemittance.status == "OPEN",
                PayRemittance.option.in_(("debit", "chosen_date"))).order_by(
                PayRemittance.debit_date, PayRemittance.agent_code)):
            amount, bank = outstanding(s, r), terms.account(r.agent_code, op)
            if amount <= 0:
                continue
            if bank is None:
                summary["no_bank_details"].append(r.agent_code)
                continue
            todo.append((r, amount, bank))
        for day, group in groupby(todo, key=lambda x: x[0].debit_date):
            group = list(group)
            txs = [pain.Transaction(r.reference, amount, bank, f"CASS {op} {pid} {r.reference}",
                                    mandate_id=f"CASS{op}{r.agent_code}")
                   for r, amount, bank in group]
            data = pain.direct_debits(f"CASS-{op}-{pid}-D{day:%Y%m%d}", now, terms.hinge(op),
                                      day, ccy, txs)
            path = out_dir / f"pain.008-{op}-{ccy}-{day.isoformat()}-{pid}.xml"
            atomic_write_bytes(path, data)
            summary["debit_files"].append(str(path))
            for r, amount, _ in group:
                r.status = "DEBITED"
                summary["debits"] += 1
                summary["debited"] += amount
        faults.checkpoint("payments", "collect-before-commit")
    summary["payout"] = pay_out(settings, engine, settled, terms, today, out_dir, now)
    return summary


def payout(settings: Settings, engine: Engine, terms: PaymentTerms, operation: str,
           period_text: str, today: dt.date, out_dir: Path | None = None) -> dict:
    """``casslink payments payout``: a payout round of what has cleared since the last."""
    _, settled = settled_period(engine, operation, period_text)
    out_dir = Path(out_dir) if out_dir else operator_folder(settings, operation,
                                                              settled.period_id)
    return pay_out(settings, engine, settled, terms, today, out_dir)
