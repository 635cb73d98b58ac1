"""Tables of the project database. Schema changes go through alembic (``casslink db upgrade``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casslink.db import immutable


class Base(DeclarativeBase):
    pass


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Operation(Base):
    """A CASS operation: usually one country, with its settlement currency and billing frequency."""

    __tablename__ = "operations"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)  # ISO 3166 alpha-2
    name: Mapped[str] = mapped_column(String(100))
    settlement_currency: Mapped[str] = mapped_column(String(3))
    billing_frequency: Mapped[str] = mapped_column(String(20))  # monthly|fortnightly|semi-monthly
    office_code: Mapped[str] = mapped_column(String(3), default="")
    vat_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # VAT in basis points (1900 = 19%)


class BillingPeriod(Base):
    """One period of an operation's CASS calendar, stored as data (never derived at run time)."""

    __tablename__ = "billing_periods"
    __table_args__ = (UniqueConstraint("operation_code", "period_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_code: Mapped[str] = mapped_column(ForeignKey("operations.code"))
    period_id: Mapped[str] = mapped_column(String(10))  # YYYY-MM or YYYY-MM-N
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    correction_cutoff: Mapped[dt.date] = mapped_column(Date)
    billing_date: Mapped[dt.date] = mapped_column(Date)
    remittance_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open|closed|billed
    # published (a calendar CSV) | generated (the rules) | corrected (by an operator: never
    # overwritten by regeneration or a reload)
    source: Mapped[str] = mapped_column(String(10), default="published",
                                        server_default="published")
    note: Mapped[str | None] = mapped_column(Text)  # why a date moved or was corrected
    corrected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CalendarRule(Base):
    """How an operation's calendar is generated from ``valid_from`` on (casslink.calendars)."""

    __tablename__ = "calendar_rules"

    operation_code: Mapped[str] = mapped_column(ForeignKey("operations.code"), primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    frequency: Mapped[str] = mapped_column(String(20))  # monthly|semi-monthly|fortnightly|weekly
    cutoff_days: Mapped[int] = mapped_column(Integer)  # calendar days after the period end
    billing_days: Mapped[int] = mapped_column(Integer)
    remittance_days: Mapped[int] = mapped_column(Integer)
    weekend: Mapped[str] = mapped_column(String(30), default="Sat;Sun")
    holidays: Mapped[str] = mapped_column(String(10), default="")  # country (holidays package)
    holiday_subdivision: Mapped[str] = mapped_column(String(10), default="")
    source: Mapped[str] = mapped_column(Text, default="")  # where the values come from


class Participant(Base):
    """An airline, GSSA, agent or operator. Airlines have a prefix and designator; agents a code."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))  # airline|gssa|agent|operator
    code: Mapped[str] = mapped_column(String(11))  # prefix, agent code or operator login
    name: Mapped[str] = mapped_column(String(200))
    airline_prefix: Mapped[str | None] = mapped_column(String(3), index=True)
    airline_designator: Mapped[str | None] = mapped_column(String(2), index=True)
    agent_code: Mapped[str | None] = mapped_column(String(11), index=True)
    operation_code: Mapped[str | None] = mapped_column(ForeignKey("operations.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # output formats this participant receives, comma-separated (hot,xlsx,...); null = all
    output_formats: Mapped[str | None] = mapped_column(String(100))


class User(Base):
    """An SFTP/UI login belonging to one participant."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    role: Mapped[str] = mapped_column(String(10), default="user")  # admin|user
    password_hash: Mapped[str | None] = mapped_column(String(200))
    public_keys: Mapped[str] = mapped_column(Text, default="")  # OpenSSH authorized_keys lines
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class LandedFile(Base):
    """The file registry: every file that landed, content-addressed, and where it ended."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    user_login: Mapped[str | None] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(10), default="inbox")  # inbox|sandbox|cli
    landed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    state: Mapped[str] = mapped_column(String(12), default="landed")
    verdict: Mapped[str | None] = mapped_column(String(40))
    stored_path: Mapped[str] = mapped_column(Text, default="")
    # what the file turned out to be (set by ingest)
    family: Mapped[str | None] = mapped_column(String(12))
    operation_code: Mapped[str | None] = mapped_column(String(2))
    period_id: Mapped[str | None] = mapped_column(String(10))  # as the file's header says
    billed_period_id: Mapped[str | None] = mapped_column(String(10))  # where it is billed
    late: Mapped[bool | None] = mapped_column(Boolean)
    file_number: Mapped[int | None] = mapped_column(Integer)
    record_count: Mapped[int | None] = mapped_column(Integer)
    accepted_count: Mapped[int | None] = mapped_column(Integer)
    ack_name: Mapped[str | None] = mapped_column(String(300))
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # ingest attempts: the billed period is pinned before anything is stored; the outcome
    # commits the warehouse part's name with the state (settlement reads only those parts)
    pinned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    part_name: Mapped[str | None] = mapped_column(String(80))


class ReferenceVersion(Base):
    """Which reference data is loaded (content hash of the fixture files)."""

    __tablename__ = "reference_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class SettlementRun(Base):
    """One settlement of an (operation, period): its inputs digest, kind and outcome."""

    __tablename__ = "settlement_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_code: Mapped[str] = mapped_column(String(2), index=True)
    period_id: Mapped[str] = mapped_column(String(10), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # regular | preview | repeat | rebill
    inputs_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # running | succeeded | failed
    message: Mapped[str] = mapped_column(Text, default="")
    ledger_dir: Mapped[str] = mapped_column(Text, default="")
    records: Mapped[int] = mapped_column(Integer, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One file delivered into a participant's outbox by a settlement run's output stage."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"), index=True)
    participant_code: Mapped[str] = mapped_column(String(11), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # handoff-hot | agent-hot | xlsx | xml
    path: Mapped[str] = mapped_column(Text, index=True)  # an invoice chunk replaces by path
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    delivered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class LoginLockout(Base):
    """Failed-login counter of one key (``user:<canonical login>`` or ``addr:<address>``),
    and until when it is locked; kept here so a lockout survives a restart."""

    __tablename__ = "login_lockouts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                             index=True)


class TaxRuleRow(Base):
    """One rule of an operation's tax rule set (casslink.tax_rules). Loading a rules file adds
    a new ``version`` for each operation it names; the latest version is in force."""

    __tablename__ = "tax_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_code: Mapped[str] = mapped_column(String(2), index=True)
    version: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    side: Mapped[str] = mapped_column(String(10))  # airline | agent | withheld
    base: Mapped[str] = mapped_column(String(300))  # components joined by '+'
    rate_bp: Mapped[int] = mapped_column(Integer)
    applies_to: Mapped[str] = mapped_column(String(15))  # all | domestic | international
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    rounding: Mapped[str] = mapped_column(String(5))  # line | bill
    mode: Mapped[str] = mapped_column(String(8))  # compute | verify | accept
    source: Mapped[str] = mapped_column(Text, default="")
    source_line: Mapped[int | None] = mapped_column(Integer)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)

# --- access (revision 0009_access): companies, grants, API tokens, audit log -------------
# users.company_id / users.language and participants.language / participants.contact_email
# are columns of the classes above, added by the same revision (see the block below).


class Company(Base):
    """A company whose users sign in: an airline, an agent (forwarder group) or the operator."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # airline|agent|operator
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           default=_utcnow)


class AccessGrant(Base):
    """One participant a user may act for, and the rights they have there
    (comma-separated subset of casslink.access.RIGHTS)."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("user_id", "participant_id",
                                       name="uq_grants_user_participant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    rights: Mapped[str] = mapped_column(String(60))


class ApiToken(Base):
    """A personal API token: only its sha256 is stored; shown once when issued."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One administrative action (append-only: rows are inserted, never updated)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    actor_login: Mapped[str] = mapped_column(String(64))
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # JSON


class PeriodTotal(Base):
    """What one (airline, agent) pair has accepted so far in a period, per currency: records
    and the agent-net components (casslink.canonical.NET_TERMS), minor units. Added to in the
    same transaction that records an ingested file's outcome (casslink.period_totals)."""

    __tablename__ = "period_totals"
    __table_args__ = (Index("ix_period_totals_agent", "agent_code", "operation_code",
                            "period_id"),
                      Index("ix_period_totals_airline", "airline_prefix", "operation_code",
                            "period_id"))

    operation_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    period_id: Mapped[str] = mapped_column(String(10), primary_key=True)
    airline_prefix: Mapped[str] = mapped_column(String(3), primary_key=True)
    agent_code: Mapped[str] = mapped_column(String(11), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    files: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    records: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    weight_pp: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    valuation_pp: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    oc_carrier_pp: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    oc_agent_cc: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    commission: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_airline: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_agent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    net: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ParticipantTotal(Base):
    """What one participant (an airline by prefix, or an agent) has accepted so far in a
    period, per currency: the sums of its ``period_totals`` rows, added to in the same
    statement batch as they are (casslink.period_totals.add), so the portal reads a
    participant's per-currency totals without summing its thousands of counterpart rows."""

    __tablename__ = "participant_totals"

    side: Mapped[str] = mapped_column(String(7), primary_key=True)  # airline | agent
    code: Mapped[str] = mapped_column(String(11), primary_key=True)
    operation_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    period_id: Mapped[str] = mapped_column(String(10), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    records: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    weight_pp: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    valuation_pp: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    oc_carrier_pp: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    oc_agent_cc: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    commission: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_airline: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_agent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    net: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


User.company_id = mapped_column(ForeignKey("companies.id"), nullable=True, index=True)
User.language = mapped_column(String(10), nullable=True)
Participant.language = mapped_column(String(10), nullable=True)
Participant.contact_email = mapped_column(String(254), nullable=True)

# --- payments (casslink.payments; migration 0010_payments) ---------------------------------


class PayPosting(Base):
    """One immutable double-entry transfer of the payment ledger: ``amount`` (minor units, > 0)
    moves from ``credit_account`` to ``debit_account``. ``key`` makes a retry a no-op; a
    correction is a new posting that names the one it ``reverses``."""

    __tablename__ = "pay_postings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    operation_code: Mapped[str] = mapped_column(String(2), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    period_id: Mapped[str | None] = mapped_column(String(10), index=True)
    debit_account: Mapped[str] = mapped_column(String(40), index=True)
    credit_account: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # due|collection|wallet|payout|...
    value_date: Mapped[dt.date] = mapped_column(Date)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("pay_postings.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class PayMovement(Base):
    """Cash in or out of a hinge account as the bank or a payment file says, kept apart from
    the postings: the hinge balance of the postings must equal in - out of these."""

    __tablename__ = "pay_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    operation_code: Mapped[str] = mapped_column(String(2), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    direction: Mapped[str] = mapped_column(String(3))  # in|out
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(120))  # statement entry or payment file
    value_date: Mapped[dt.date] = mapped_column(Date)


class PayRemittance(Base):
    """What one agent owes (``due`` > 0) or is owed (< 0) for one period, its unique payment
    reference, the option it pays by and its classification."""

    __tablename__ = "pay_remittances"
    __table_args__ = (UniqueConstraint("operation_code", "period_id", "agent_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_code: Mapped[str] = mapped_column(String(2))
    period_id: Mapped[str] = mapped_column(String(10))
    agent_code: Mapped[str] = mapped_column(String(11), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    due: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(35), unique=True)
    option: Mapped[str] = mapped_column(String(12))  # debit|chosen_date|transfer|wallet
    debit_date: Mapped[dt.date | None] = mapped_column(Date)
    remittance_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="OPEN")


class PayStatement(Base):
    """A bank statement or notification imported once (idempotent per statement id)."""

    __tablename__ = "pay_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    statement_id: Mapped[str] = mapped_column(String(80), unique=True)
    message: Mapped[str] = mapped_column(String(20))  # camt.053.001.02 ...
    sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class PayEntry(Base):
    """One credit or debit of an imported statement and what it was matched to."""

    __tablename__ = "pay_entries"
    __table_args__ = (UniqueConstraint("statement_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    statement_id: Mapped[str] = mapped_column(String(80), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    operation_code: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(4))  # CRDT|DBIT
    value_date: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(140), default="")
    info: Mapped[str] = mapped_column(Text, default="")
    remittance_id: Mapped[int | None] = mapped_column(ForeignKey("pay_remittances.id"))
    classification: Mapped[str] = mapped_column(String(10))  # PAID|SHORT|OVER|LATE|...
    matched_by: Mapped[str] = mapped_column(String(12), default="")  # reference|amount|manual


class PayIrregularity(Base):
    """An irregularity notice: a SHORT, LATE, RETURNED or UNPAID remittance."""

    __tablename__ = "pay_irregularities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_code: Mapped[str] = mapped_column(String(2))
    agent_code: Mapped[str] = mapped_column(String(11), index=True)
    period_id: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    raised_on: Mapped[dt.date] = mapped_column(Date)
    cure_by: Mapped[dt.date] = mapped_column(Date)
    cured_on: Mapped[dt.date | None] = mapped_column(Date)


class PayAgentEvent(Base):
    """Audit trail of the payment side: every agent status transition (ACTIVE, DEFAULTED,
    REINSTATED) and every operator action (manual match), who did it and why."""

    __tablename__ = "pay_agent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_code: Mapped[str] = mapped_column(String(2))
    agent_code: Mapped[str] = mapped_column(String(11), index=True)
    action: Mapped[str] = mapped_column(String(20))  # status|manual_match
    from_status: Mapped[str] = mapped_column(String(12), default="")
    to_status: Mapped[str] = mapped_column(String(12), default="")
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)

# --- invoices (issue 26): gap-free number series and the issued legal documents ------------


class InvoiceSeries(Base):
    """A gap-free number series: one per issuer, operation, year and series letter (``""``
    invoices and credit notes, ``SB`` self-billed commission invoices). ``last_number`` is
    raised in the same transaction that stores the document taking it
    (casslink.invoice_numbers)."""

    __tablename__ = "invoice_series"
    __table_args__ = (UniqueConstraint("issuer", "operation_code", "year", "series"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(11))
    operation_code: Mapped[str] = mapped_column(String(2))
    year: Mapped[int] = mapped_column(Integer)
    series: Mapped[str] = mapped_column(String(4), default="")
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    """One issued legal document (invoice, credit note, self-billed invoice): its number,
    parties, totals and content (JSON, what the PDF and the XML are rendered from).
    A document is never changed once issued except ``status`` (issued -> cancelled) and
    ``cancelled_by``."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("series_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("invoice_series.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    doc_type: Mapped[str] = mapped_column(String(12))  # invoice | credit_note | self_billed
    type_code: Mapped[str] = mapped_column(String(3))  # UNTDID 1001: 380 381 389 261
    status: Mapped[str] = mapped_column(String(10), default="issued")  # issued | cancelled
    operation_code: Mapped[str] = mapped_column(String(2), index=True)
    period_id: Mapped[str] = mapped_column(String(10), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"))
    bill_key: Mapped[str] = mapped_column(String(40), index=True)  # agent/airline/role
    agent_code: Mapped[str] = mapped_column(String(11))
    airline_prefix: Mapped[str] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    line_total: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    payable: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    content_digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    cancels: Mapped[str | None] = mapped_column(String(40))
    cancelled_by: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)

# --- disputes (revision 0012_disputes): online corrections and disputes, their history,
# attachments, the airline's DCM number series and the files that adjust them ------------


class Dispute(Base):
    """An agent's online correction or pre-remittance dispute of one billed AWB."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_code: Mapped[str] = mapped_column(String(2), index=True)
    period_id: Mapped[str] = mapped_column(String(10), index=True)  # where the AWB is billed
    kind: Mapped[str] = mapped_column(String(16))  # correction | pre_remittance
    agent_code: Mapped[str] = mapped_column(String(11), index=True)
    airline_prefix: Mapped[str] = mapped_column(String(3), index=True)
    awb_serial: Mapped[str] = mapped_column(String(8))
    correction_number: Mapped[str | None] = mapped_column(String(6))  # a billed CCA/DCM
    reason_code: Mapped[str] = mapped_column(String(20))
    claims: Mapped[str] = mapped_column(Text)  # JSON {component: minor units}
    remove_awb: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    raised_on: Mapped[dt.date] = mapped_column(Date)  # the calendar day the deadlines used
    response_due: Mapped[dt.date] = mapped_column(Date)
    accepted_minor: Mapped[int | None] = mapped_column(BigInteger)
    decision_text: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # CCA | DCM: what an acceptance bills (revision 0013; dispute_reasons.csv and the kind)
    instrument: Mapped[str] = mapped_column(String(3), default="DCM", server_default="DCM")
    dcm_number: Mapped[str | None] = mapped_column(String(6))  # the CCA or DCM number
    adjust_period_id: Mapped[str | None] = mapped_column(String(10))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"), unique=True)
    adjusted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # ``file:<id>:<line>`` for a dispute raised by a bulk CSV line (a retry finds it)
    source: Mapped[str | None] = mapped_column(String(40), unique=True)


class DisputeEvent(Base):
    """One step of a dispute's history, comments included (append-only: never updated)."""

    __tablename__ = "dispute_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON


class DisputeAttachment(Base):
    """A document attached to a dispute, stored content-addressed by its sha256."""

    __tablename__ = "dispute_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class DcmSeries(Base):
    """The last CCA or DCM number casslink issued for an airline's dispute adjustments (one
    series per airline and instrument; ``instrument`` since revision 0013)."""

    __tablename__ = "dcm_series"

    airline_prefix: Mapped[str] = mapped_column(String(3), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(3), primary_key=True, default="DCM",
                                            server_default="DCM")
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class DisputeFile(Base):
    """A landed file that adjusts a dispute: the generated DCM, or the airline's own CCA/DCM
    for the disputed AWB (``casslink trace`` reaches the dispute through it)."""

    __tablename__ = "dispute_files"
    __table_args__ = (UniqueConstraint("dispute_id", "file_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # generated | airline
    correction_number: Mapped[str | None] = mapped_column(String(6))


immutable.attach(Base.metadata)  # create_all guards the append-only tables as 0013 does
