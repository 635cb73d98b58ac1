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
    path: Mapped[str] = mapped_column(Text)
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
    __table_args__ = (Index("ix_period_totals_agent", "agent_code", "period_id"),
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


User.company_id = mapped_column(ForeignKey("companies.id"), nullable=True, index=True)
User.language = mapped_column(String(10), nullable=True)
Participant.language = mapped_column(String(10), nullable=True)
Participant.contact_email = mapped_column(String(254), nullable=True)
