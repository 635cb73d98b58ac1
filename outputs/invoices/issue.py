"""Issue a settled period's documents: number them, store them, cancel what a re-bill changed.

* Documents are numbered and stored in transactions of up to ``BATCH`` documents whose first
  statement takes a number (casslink.invoice_numbers): a number exists only with its
  document - no gaps.
* Re-running a settlement over the same inputs builds the same documents: they are kept,
  their numbers unchanged (compared by :meth:`Document.content_digest`).
* A re-bill that changes a bill's document cancels the issued one with a reversing document
  (a credit note for an invoice, type 381/261) that references it, and issues the new one,
  all in one transaction. A document whose bill disappeared is cancelled the same way.
* A preview builds the documents and issues nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from casslink import faults, i18n, invoice_numbers
from casslink.db.engine import session_scope
from casslink.db.models import Invoice, Participant
from casslink.legal_parties import LegalData
from casslink.outputs.invoices.documents import (
    Document,
    PeriodContext,
    build_documents,
)
from casslink.outputs.invoices.tax_lines import read_tax_lines
from casslink.reference import ReferenceData, load_reference
from casslink.settings import Settings
from casslink.settlement.run import LedgerTables, latest_run, resolve_period

REVERSAL = {"380": "381", "381": "380", "389": "261", "261": "389"}
REVERSAL_SUFFIX = "/reversal"
BATCH = 100
"""Documents numbered and stored per transaction: a commit syncs the database, and one per
document cost about as much as building the document."""


@dataclass
class IssueResult:
    operation: str
    period_id: str
    run_id: int
    preview: bool
    issued: list[str] = field(default_factory=list)  # numbers, in issue order
    cancelled: list[str] = field(default_factory=list)  # numbers cancelled by a reversal
    kept: list[str] = field(default_factory=list)  # unchanged documents of an earlier run
    documents: list[Document] = field(default_factory=list)  # preview: the would-be set

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["documents"] = len(self.documents)
        return d


def legal_data(settings: Settings) -> LegalData:
    return LegalData.from_fixtures(settings.fixtures_dir / "reference")


def period_documents(settings: Settings, engine: Engine, operation: str, period_text: str,
                     reference: ReferenceData | None = None, legal: LegalData | None = None,
                     issue_date: dt.date | None = None) -> tuple[int, list[Document]]:
    """(run id, the documents of the period's latest settlement, unnumbered)."""
    ref = reference or load_reference(settings)
    operation = operation.upper()
    period = resolve_period(ref, operation, period_text)
    run_id, folder = latest_run(engine, operation, period.period_id)
    op = ref.operations[operation]
    ledger = LedgerTables(Path(folder))
    bills = ledger["bills"]
    tax_rows = read_tax_lines(Path(folder), bills, op.vat_rate_bp)
    issued_on = issue_date or max(period.billing_date, dt.date.today())
    ctx = PeriodContext(operation, period.period_id, period.start_date, period.end_date,
                        period.remittance_date, op.settlement_currency, run_id, issued_on)
    return run_id, build_documents(ctx, bills.to_pylist(), tax_rows,
                                   legal or legal_data(settings), chosen_languages(engine))


def chosen_languages(engine: Engine) -> dict[str, str]:
    """Agent code -> the document language its users chose (portal settings,
    ``participants.language``); it wins over the legal parties' default language."""
    with session_scope(engine) as s:
        rows = s.execute(select(Participant.code, Participant.language).where(
            Participant.kind == "agent", Participant.language.in_(i18n.LANGUAGES))).all()
    return dict(rows)


def issue_period(settings: Settings, engine: Engine, operation: str, period_text: str,
                 preview: bool = False, reference: ReferenceData | None = None,
                 legal: LegalData | None = None, issue_date: dt.date | None = None
                 ) -> IssueResult:
    """Issue (or preview) the documents of the period's latest settlement run."""
    legal = legal or legal_data(settings)
    run_id, docs = period_documents(settings, engine, operation, period_text, reference,
                                    legal, issue_date)
    operation = operation.upper()
    period_id = docs[0].period_id if docs else resolve_period(
        reference or load_reference(settings), operation, period_text).period_id
    result = IssueResult(operation, period_id, run_id, preview)
    if preview:
        result.documents = docs
        return result
    rules = legal.rules[operation]
    wanted = {d.bill_key: d for d in docs}
    with session_scope(engine) as s:
        current = {r.bill_key: (r.number, r.content_digest) for r in s.scalars(
            select(Invoice).where(Invoice.operation_code == operation,
                                  Invoice.period_id == period_id,
                                  Invoice.status == "issued",
                                  Invoice.cancels.is_(None)))}
    todo = []
    for key, doc in wanted.items():
        digest = doc.content_digest()
        if key in current and current[key][1] == digest:
            result.kept.append(current[key][0])
        else:
            todo.append((doc, digest))
    for i in range(0, len(todo), BATCH):
        for cancelled, issued in _issue_batch(engine, rules, todo[i:i + BATCH]):
            result.cancelled.extend(cancelled)
            result.issued.extend(issued)
    today = (issue_date or dt.date.today()).isoformat()
    for key in sorted(set(current) - set(wanted)):
        try:
            with session_scope(engine) as s:
                cancelled, issued = _replace(s, rules, None, "", today, key=key,
                                             operation=operation, period_id=period_id)
        except _NothingToDo:
            continue
        result.cancelled.extend(cancelled)
        result.issued.extend(issued)
    return result


def _issue_batch(engine: Engine, rules, batch: list[tuple[Document, str]]
                 ) -> list[tuple[list[str], list[str]]]:
    """Issue ``batch`` (documents and their digests) in one transaction: every number and
    its document commit together or not at all (one commit, one sync, per batch instead of
    per document). When another process issued one of them meanwhile, or the database gave
    up on the batch (PostgreSQL: a deadlock with another issuer holding the series locks in
    another order), the batch rolls back, its numbers with it, and each document is tried
    in a transaction of its own (which takes one series lock at a time). A lock wait that
    timed out (SQLite: "database is locked") is raised, not retried document by document:
    another writer holds the database, and each retry would wait as long again."""
    try:
        with session_scope(engine) as s:
            done = [_replace(s, rules, doc, digest, doc.issue_date) for doc, digest in batch]
            faults.checkpoint("invoices", "before-commit")
    except (_NothingToDo, OperationalError) as exc:
        if isinstance(exc, OperationalError) and _lock_timeout(exc):
            raise
        done = []
        for doc, digest in batch:
            try:
                with session_scope(engine) as s:
                    done.append(_replace(s, rules, doc, digest, doc.issue_date))
                    faults.checkpoint("invoices", "before-commit")
            except _NothingToDo:  # issued by the other process
                continue
    faults.checkpoint("invoices", "committed")
    return done


def _lock_timeout(exc: OperationalError) -> bool:
    """A lock wait that gave up: SQLite's busy timeout, PostgreSQL's ``lock_timeout``
    (SQLSTATE 55P03) - not a deadlock or serialization failure, which a retry resolves."""
    return ("database is locked" in str(exc.orig)
            or getattr(exc.orig, "sqlstate", None) == "55P03")


class _NothingToDo(Exception):
    """The wanted state is already stored: the transaction rolls back, its numbers with it."""


def _take_number(s: Session, rules, doc: Document) -> tuple[int, int, str]:
    year = dt.date.fromisoformat(doc.issue_date).year
    series_id, seq = invoice_numbers.allocate(s, doc.issuer, doc.operation, year, doc.series)
    return series_id, seq, rules.number(doc.issuer, year, seq, doc.series)


def _series_of(key: str) -> tuple[str, str]:
    """(issuer, series letter) of a bill key ``agent/airline/kind``."""
    _agent, airline, kind = key.split("/")[:3]
    return airline, "SB" if kind == "self_billed" else ""


def _store(s: Session, doc: Document, series_id: int, seq: int, key: str,
           digest: str = "") -> None:
    s.add(Invoice(number=doc.number, series_id=series_id, seq=seq, doc_type=doc.doc_type,
                  type_code=doc.type_code, status="issued", operation_code=doc.operation,
                  period_id=doc.period_id, run_id=doc.run_id, bill_key=key,
                  agent_code=doc.agent_code, airline_prefix=doc.airline_prefix,
                  currency=doc.currency, line_total=doc.line_total, tax_total=doc.tax_total,
                  payable=doc.payable, language=doc.language,
                  issue_date=dt.date.fromisoformat(doc.issue_date),
                  content_digest=digest or doc.content_digest(), content=doc.to_json(),
                  cancels=doc.cancels or None))


def _replace(s: Session, rules, doc: Document | None, digest: str, issue_date: str,
             key: str = "", operation: str = "", period_id: str = ""
             ) -> tuple[list[str], list[str]]:
    """In one transaction: cancel the key's issued document (if any) with a reversal dated
    ``issue_date``, then issue ``doc`` (if given); (cancelled, issued numbers). Raises
    _NothingToDo when the state is already what is wanted (the transaction rolls back, and
    the number it took returns to the series)."""
    key = doc.bill_key if doc is not None else key
    operation = doc.operation if doc is not None else operation
    period_id = doc.period_id if doc is not None else period_id
    # the first statement takes a number (SQLite: the write lock first, see invoice_numbers);
    # a reversal of the key's document is in the same series as its new document (same
    # issuer and kind), so that number serves either
    issuer, series = (doc.issuer, doc.series) if doc is not None else _series_of(key)
    year = dt.date.fromisoformat(issue_date).year
    series_id, seq = invoice_numbers.allocate(s, issuer, operation, year, series)
    faults.checkpoint("invoices", "numbered")
    number = rules.number(issuer, year, seq, series)
    old_row = _current(s, operation, period_id, key)
    done = old_row is None if doc is None else (
        old_row is not None and old_row.content_digest == digest)
    if done:
        raise _NothingToDo
    cancelled, issued = [], []
    if old_row is not None:
        old = Document.from_json(old_row.content)
        rev = _reversal(old, issue_date)
        rev.number = number
        _store(s, rev, series_id, seq, key + REVERSAL_SUFFIX)
        old_row.status, old_row.cancelled_by = "cancelled", number
        s.flush()
        faults.checkpoint("invoices", "reversed")
        cancelled.append(old_row.number)
        issued.append(number)
        if doc is not None:
            series_id, seq, number = _take_number(s, rules, doc)
    if doc is not None:
        doc.number = number
        _store(s, doc, series_id, seq, key, digest)
        issued.append(number)
    return cancelled, issued


def _current(s: Session, operation: str, period_id: str, key: str) -> Invoice | None:
    """The key's issued, uncancelled document of the period. Selected by the bill key alone
    (a few rows: one per period): with the operation and period in the query too, SQLite
    chose their index and scanned every document of the operation, once per document issued
    (the 1M-AWB period: 17 ms a document after 25,000, and growing)."""
    rows = s.scalars(select(Invoice).where(
        Invoice.bill_key == key, Invoice.status == "issued", Invoice.cancels.is_(None)))
    return next((r for r in rows if r.operation_code == operation
                 and r.period_id == period_id), None)


def _reversal(old: Document, issue_date: str) -> Document:
    """The document cancelling ``old``: its amounts, the opposite type, a reference to it."""
    rev = Document.from_json(old.to_json())
    rev.type_code, rev.sign = REVERSAL[old.type_code], -old.sign
    rev.cancels, rev.number, rev.issue_date = old.number, "", issue_date
    return rev
