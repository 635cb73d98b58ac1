"""Import a bank statement of a hinge account and match each entry to the open remittances.

``casslink payments import FILE``: one statement id is imported once (a second import of the
same file changes nothing; the same id with other content fails loudly). In one transaction:

* a credit quoting a remittance's reference (structured creditor reference, end-to-end id of
  a direct debit, or an RF reference in the free text) pays that remittance; one quoting an
  agent's wallet reference tops up the wallet;
* else a credit of exactly an open remittance's outstanding amount from the agent (its IBAN,
  or its agent code in the text) pays it;
* else it is ``UNMATCHED`` and waits in ``suspense`` for an operator (:func:`match_entry`,
  audited);
* a returned direct debit (R-transaction) reverses the collection and reopens the
  remittance;
* other debits are the bank executing CASS's own payment files, accounted for when written.

A matched payment is classified ``PAID``, ``SHORT``, ``OVER`` or ``LATE`` (value date after
the remittance date plus the operation's grace); SHORT, LATE and RETURNED raise an
irregularity (:mod:`casslink.payments.defaults`). The hinge check runs before the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import cache

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from casslink import faults
from casslink.db.engine import session_scope
from casslink.db.models import PayAgentEvent, PayEntry, PayRemittance, PayStatement
from casslink.payments import camt, defaults, ledger, status_report
from casslink.payments.dues import outstanding
from casslink.payments.import_state import ImportState, chunks
from casslink.payments.references import find_references, wallet_reference
from casslink.payments.terms import PaymentRule, PaymentTerms
from casslink.settings import Settings

AGENT_CODE = re.compile(r"\b\d{11}\b")


def owed_airlines_reader(engine: Engine):
    """A function: remittance -> the airlines its agent owes money in that period."""
    from casslink.settlement.run import latest_ledger, read_ledger

    @cache
    def bills(op: str, period_id: str) -> tuple[tuple[str, str, int], ...]:
        t = read_ledger(latest_ledger(engine, op, period_id))["bills"]
        return tuple((r["agent_code"], r["airline_prefix"], int(r["net"]))
                     for r in t.select(["agent_code", "airline_prefix", "net"]).to_pylist())

    def owed(r: PayRemittance) -> list[str]:
        return sorted(p for a, p, net in bills(r.operation_code, r.period_id)
                      if a == r.agent_code and net > 0)
    return owed


def operation_of(terms: PaymentTerms, stmt: camt.Statement) -> str:
    """The operation whose hinge account the statement is of."""
    for op, rule in terms.rules.items():
        acct = terms.account(rule.hinge_account, op)
        if acct is not None and ((stmt.account_iban and acct.iban == stmt.account_iban) or (
                stmt.account_other and acct.account_number == stmt.account_other)):
            return op
    raise camt.StatementError(f"statement {stmt.statement_id}: account "
                              f"{stmt.account_iban or stmt.account_other} is no hinge account")


def classify(r: PayRemittance, owed: int, value_date: dt.date, rule: PaymentRule) -> str:
    """The classification of a payment to ``r`` that leaves ``owed`` outstanding."""
    if owed > 0:
        return "SHORT"
    if value_date > r.remittance_date + dt.timedelta(days=rule.grace_days):
        return "LATE"
    return "OVER" if owed < 0 else "PAID"


def settle_payment(s: Session, r: PayRemittance, value_date: dt.date, rule: PaymentRule,
                   notifier: defaults.Notifier, state: ImportState | None = None) -> str:
    """Classify ``r`` after a payment was posted to it; irregularities and cures follow
    (``state``: a statement import's, which knows what is outstanding and uncured)."""
    owed = outstanding(s, r) if state is None else state.outstanding(r)
    status = classify(r, owed, value_date, rule)
    r.status = status
    if status in ("SHORT", "LATE"):
        defaults.raise_irregularity(s, r, status, value_date, rule, notifier, book=state)
    defaults.cure(s, r, value_date, owed, None if state is None else
                  state.uncured.setdefault((r.agent_code, r.period_id), []))
    return status


def _references(e: camt.Entry) -> list[str]:
    return [*e.references, *find_references(e.info)]


def _agents(terms: PaymentTerms, op: str, e: camt.Entry) -> set[str]:
    """The agents a credit names: agent codes in its text, the owner of its debtor IBAN."""
    agents = set(AGENT_CODE.findall(e.info))
    if e.debtor_iban:
        agents |= {p for (p, o), a in terms.accounts.items() if o == op and a.iban == e.debtor_iban}
    return agents


def _find_remittance(state: ImportState, terms: PaymentTerms, op: str, e: camt.Entry
                     ) -> tuple[PayRemittance | None, str, str]:
    """(remittance, matched_by, wallet agent) of a credit."""
    refs = _references(e)
    for ref in refs:
        r = state.by_reference.get(ref.upper())
        if r is not None and r.operation_code == op and r.currency == e.currency:
            return r, "reference", ""
    for ref in refs:
        body = ref[4:]
        if body.startswith(f"{op}W") and ref == wallet_reference(op, body[3:]):
            return None, "wallet", body[3:]
    for r in state.candidates(_agents(terms, op, e), e.currency):
        if state.outstanding(r) == e.amount:
            return r, "amount", ""
    return None, "", ""


def _imported(s: Session, statement_id: str, digest: str, what: str) -> bool:
    """Whether the file ``statement_id`` was imported already (importing it again does
    nothing); the same id with other content fails loudly."""
    known = s.scalars(select(PayStatement).where(
        PayStatement.statement_id == statement_id)).first()
    if known is not None and known.sha256 != digest:
        raise camt.StatementError(f"{what} {statement_id} was imported with other content: "
                                  "refusing to import it again")
    return known is not None


def import_statement(settings: Settings | None, engine: Engine, data: bytes,
                     terms: PaymentTerms) -> dict:
    """Import one camt.053/camt.054 (see the module), or a pain.008's status report
    (pain.002, :func:`import_status_report`); returns a summary. What the entries need from
    the database is read once per statement (:class:`ImportState`), not once per entry."""
    if status_report.is_status_report(data):
        return import_status_report(settings, engine, data, terms)
    stmt = camt.parse(data)
    digest = hashlib.sha256(data).hexdigest()
    op = operation_of(terms, stmt)
    rule = terms.rule(op)
    notifier = defaults.Notifier(settings, owed_airlines_reader(engine))
    summary = {"statement_id": stmt.statement_id, "message": stmt.message, "operation": op,
               "entries": len(stmt.entries), "imported": False, "classifications": {}}
    with session_scope(engine) as s:
        if _imported(s, stmt.statement_id, digest, "statement"):
            return summary
        keys = [f"entry:{stmt.statement_id}:{e.seq}" for e in stmt.entries]
        credits = [e for e in stmt.entries if e.direction == "CRDT"]
        returns = [e for e in stmt.entries if e.direction != "CRDT" and e.returned]
        state = ImportState(
            s, op, {ref for e in stmt.entries for ref in _references(e)},
            {a for e in credits for a in _agents(terms, op, e)}, keys,
            {ref for e in returns for ref in _references(e)})
        currencies = set()
        for e, key in zip(stmt.entries, keys, strict=True):
            currencies.add(e.currency)
            row = PayEntry(statement_id=stmt.statement_id, seq=e.seq, operation_code=op,
                           currency=e.currency, amount=e.amount, direction=e.direction,
                           value_date=e.value_date, reference=(e.references or ("",))[0][:140],
                           info=e.info, classification="UNMATCHED")
            if e.direction == "CRDT":
                r, matched_by, wallet_agent = _find_remittance(state, terms, op, e)
                state.move(key, e.currency, "in", e.amount, e.value_date)
                if wallet_agent:
                    state.post(key, e.currency, ledger.HINGE, ledger.wallet(wallet_agent),
                               e.amount, "topup", e.value_date)
                    row.classification, row.matched_by = "WALLET", "reference"
                elif r is None:
                    state.post(key, e.currency, ledger.HINGE, ledger.SUSPENSE, e.amount,
                               "unmatched", e.value_date)
                else:
                    state.post(key, e.currency, ledger.HINGE, ledger.agent(r.agent_code),
                               e.amount, "collection", e.value_date, r.period_id,
                               note=r.reference)
                    row.remittance_id, row.matched_by = r.id, matched_by
                    row.classification = settle_payment(s, r, e.value_date, rule, notifier,
                                                        state)
            elif e.returned:
                row.classification = _return(s, state, op, e, key, rule, notifier, row)
            else:
                row.classification = "OUTGOING"
            state.add_entry(row)
            summary["classifications"][row.classification] = \
                summary["classifications"].get(row.classification, 0) + 1
        s.add(PayStatement(statement_id=stmt.statement_id, message=stmt.message,
                           sha256=digest, entries=len(stmt.entries)))
        state.finish()
        for ccy in currencies:
            ledger.check(s, op, ccy)
        faults.checkpoint("payments", "import-before-commit")
    summary["imported"] = True
    return summary


def _return(s: Session, state: ImportState, op: str, e: camt.Entry, key: str,
            rule: PaymentRule, notifier: defaults.Notifier, row: PayEntry) -> str:
    """A returned direct debit: reverse its collection, reopen the remittance."""
    state.move(key, e.currency, "out", e.amount, e.value_date)
    r = next((x for ref in _references(e) if (x := state.by_reference.get(ref.upper()))
              is not None and x.operation_code == op), None)
    original = state.collection_to_reverse(r, e.amount) if r is not None else None
    if original is None:  # money left the hinge: it waits in suspense for an operator
        state.post(key, e.currency, ledger.SUSPENSE, ledger.HINGE, e.amount, "unmatched",
                   e.value_date)
        return "UNMATCHED"
    state.post(key, original.currency, original.credit_account, original.debit_account,
               original.amount, "return", e.value_date, original.period_id,
               note=f"returned {e.return_reason}".strip(), reverses=original)
    row.remittance_id, row.matched_by = r.id, "reference"
    r.status = "RETURNED"
    defaults.raise_irregularity(s, r, "RETURNED", e.value_date, rule, notifier, book=state)
    return "RETURNED"


def match_entry(settings: Settings | None, engine: Engine, terms: PaymentTerms, entry_id: int,
                reference: str, actor: str, reason: str = "") -> str:
    """An operator matches an UNMATCHED credit to the remittance with ``reference``: the
    money moves from suspense to the agent, and the match is audited."""
    notifier = defaults.Notifier(settings, owed_airlines_reader(engine))
    with session_scope(engine) as s:
        e = s.get(PayEntry, entry_id)
        if e is None or e.classification != "UNMATCHED" or e.direction != "CRDT":
            raise ValueError(f"entry {entry_id} is not an unmatched credit")
        r = s.scalars(select(PayRemittance).where(
            PayRemittance.reference == reference.strip().upper())).first()
        if r is None or r.operation_code != e.operation_code or r.currency != e.currency:
            raise ValueError(f"no remittance {reference} in {e.operation_code} {e.currency}")
        rule = terms.rule(r.operation_code)
        ledger.post(s, f"match:{entry_id}", r.operation_code, r.currency, ledger.SUSPENSE,
                    ledger.agent(r.agent_code), e.amount, "collection", e.value_date,
                    r.period_id, note=f"manual match by {actor}")
        e.remittance_id, e.matched_by = r.id, "manual"
        e.classification = settle_payment(s, r, e.value_date, rule, notifier)
        s.add(PayAgentEvent(operation_code=r.operation_code, agent_code=r.agent_code,
                            action="manual_match", actor=actor,
                            reason=f"entry {e.statement_id}#{e.seq} {e.amount} -> "
                                   f"{r.reference}: {reason}".strip()))
        ledger.check(s, r.operation_code, r.currency)
        return e.classification


def import_status_report(settings: Settings | None, engine: Engine, data: bytes,
                         terms: PaymentTerms) -> dict:
    """Rejected direct debits of a pain.002 reopen their remittances (once per message id);
    nothing is posted, no money moved."""
    report = status_report.parse(data)
    digest = hashlib.sha256(data).hexdigest()
    notifier = defaults.Notifier(settings, owed_airlines_reader(engine))
    summary = {"statement_id": report.message_id, "message": report.message, "operation": "",
               "entries": len(report.rejections), "imported": False, "classifications": {}}
    with session_scope(engine) as s:
        if _imported(s, report.message_id, digest, "status report"):
            return summary
        by_reference = {r.reference: r for part in chunks(
            rej.end_to_end_id.upper() for rej in report.rejections)
            for r in s.scalars(select(PayRemittance).where(PayRemittance.reference.in_(part)))}
        for rej in report.rejections:
            r = by_reference.get(rej.end_to_end_id.upper())
            kind = "IGNORED"
            if r is not None and r.status == "DEBITED":
                r.status, kind = "RETURNED", "RETURNED"
                summary["operation"] = r.operation_code
                defaults.raise_irregularity(s, r, "RETURNED", report.created,
                                            terms.rule(r.operation_code), notifier)
            summary["classifications"][kind] = summary["classifications"].get(kind, 0) + 1
        s.add(PayStatement(statement_id=report.message_id, message=report.message,
                           sha256=digest, entries=len(report.rejections)))
    summary["imported"] = True
    return summary
