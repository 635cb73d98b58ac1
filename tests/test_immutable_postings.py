"""The database itself refuses to rewrite history (casslink.db.immutable, migration 0013):
raw SQL cannot UPDATE or DELETE a payment posting, a cash movement or a dispute event;
an issued invoice changes only by its cancellation; a number series only counts up. On
SQLite and on the machine's PostgreSQL, through alembic and through ``create_all``."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from casslink import invoice_numbers
from casslink.db import immutable
from casslink.db.engine import alembic_config, make_engine, session_scope, upgrade
from casslink.db.models import (
    AuditEntry,
    Base,
    Dispute,
    DisputeEvent,
    Invoice,
    PayAgentEvent,
    PayMovement,
    PayPosting,
    SettlementRun,
)

DAY = dt.date(2026, 12, 6)
APPEND_ONLY = {  # table -> a raw UPDATE that would rewrite a row
    "pay_postings": "UPDATE pay_postings SET amount = amount + 1",
    "pay_movements": "UPDATE pay_movements SET amount = 1",
    "dispute_events": "UPDATE dispute_events SET detail = '{}', actor = 'mallory'",
    "pay_agent_events": "UPDATE pay_agent_events SET to_status = 'ACTIVE'",
    "audit_log": "UPDATE audit_log SET actor_login = 'mallory'",
}


def _fill(engine) -> None:
    """One row of each guarded table, written the normal way (the ORM)."""
    with session_scope(engine) as s:
        series_id, seq = invoice_numbers.allocate(s, "020", "DE", 2026)
        s.add(PayPosting(key="k1", operation_code="DE", currency="EUR", period_id="2026-11",
                         debit_account="hinge", credit_account="suspense", amount=100,
                         kind="unmatched", value_date=DAY, note=""))
        s.add(PayMovement(key="k1", operation_code="DE", currency="EUR", direction="in",
                          amount=100, source="test", value_date=DAY))
        run = SettlementRun(operation_code="DE", period_id="2026-11", kind="regular",
                            inputs_digest="0" * 64, status="succeeded")
        d = Dispute(operation_code="DE", period_id="2026-11", kind="correction",
                    agent_code="23156130152", airline_prefix="020", awb_serial="12345675",
                    reason_code="R1", claims="{}", claimed_minor=100, currency="EUR",
                    status="raised", raised_by="agent", raised_on=DAY, response_due=DAY)
        s.add_all([run, d])
        s.flush()
        s.add(DisputeEvent(dispute_id=d.id, actor="agent", action="raised", to_status="raised"))
        s.add(PayAgentEvent(operation_code="DE", agent_code="23156130152", action="status",
                            from_status="ACTIVE", to_status="DEFAULTED", actor="casslink",
                            reason="unpaid"))
        s.add(AuditEntry(actor_login="admin", company_id=None, action="user.create",
                         target="alice", detail="{}"))
        s.add(Invoice(number="020-2026-000001", series_id=series_id, seq=seq,
                      doc_type="invoice", type_code="380", status="issued",
                      operation_code="DE", period_id="2026-11", run_id=run.id,
                      bill_key="23156130152/020/billed", agent_code="23156130152",
                      airline_prefix="020", currency="EUR", line_total=100, tax_total=19,
                      payable=119, language="de", issue_date=DAY, content_digest="a" * 64,
                      content="{}"))


def _refused(engine, sql: str, match: str) -> None:
    with pytest.raises(IntegrityError, match=match), engine.begin() as conn:
        conn.execute(text(sql))


def _run(engine, sql: str) -> int:
    with engine.begin() as conn:
        return conn.execute(text(sql)).rowcount


def _assert_guarded(engine) -> None:
    for table, update in APPEND_ONLY.items():
        _refused(engine, update, f"{table} is append-only")
        _refused(engine, f"DELETE FROM {table}", f"{table}.*(append-only|never deleted)")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT amount FROM pay_postings")).scalar_one() == 100
        assert conn.execute(text("SELECT actor FROM dispute_events")).scalar_one() == "agent"
        assert conn.execute(text("SELECT actor_login FROM audit_log")).scalar_one() == "admin"
        assert conn.execute(text("SELECT to_status FROM pay_agent_events")
                            ).scalar_one() == "DEFAULTED"
    # an issued invoice: no renumbering, no other change, no deletion
    for sql in ("UPDATE invoices SET number = '020-2026-000002'",
                "UPDATE invoices SET seq = 2",
                "UPDATE invoices SET payable = 1",
                "UPDATE invoices SET status = 'cancelled'",  # no credit note named
                "UPDATE invoices SET status = 'cancelled', cancelled_by = 'X', payable = 1",
                "DELETE FROM invoices"):
        _refused(engine, sql, "invoice|invoices")
    # the one allowed path: its cancellation by a credit note, once
    assert _run(engine, "UPDATE invoices SET status = 'cancelled', "
                        "cancelled_by = '020-2026-000002'") == 1
    _refused(engine, "UPDATE invoices SET status = 'issued', cancelled_by = NULL", "invoice")
    _refused(engine, "UPDATE invoices SET cancelled_by = '020-2026-000009'", "invoice")
    # a number series only counts up by one (what invoice_numbers.allocate does)
    _refused(engine, "UPDATE invoice_series SET last_number = 0", "series|invoice_series")
    _refused(engine, "UPDATE invoice_series SET last_number = last_number + 2",
             "series|invoice_series")
    _refused(engine, "DELETE FROM invoice_series", "invoice_series")
    with session_scope(engine) as s:
        assert invoice_numbers.allocate(s, "020", "DE", 2026)[1] == 2
    if engine.dialect.name == "postgresql":
        for table in immutable.TABLES:
            _refused(engine, f"TRUNCATE {table} CASCADE", table)


def test_raw_sql_cannot_rewrite_history(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        _fill(engine)
        _assert_guarded(engine)
    finally:
        engine.dispose()


def test_create_all_installs_the_same_guards(db_url):
    engine = make_engine(db_url)
    try:
        Base.metadata.create_all(engine)
        _fill(engine)
        _assert_guarded(engine)
    finally:
        engine.dispose()


def _triggers(engine) -> set[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger'"
           if engine.dialect.name == "sqlite" else
           "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    with engine.connect() as conn:
        return set(conn.execute(text(sql)).scalars())


def test_migration_up_and_down_from_empty(db_url):
    cfg = alembic_config(db_url)
    command.upgrade(cfg, "head")
    engine = make_engine(db_url)
    try:
        assert len(_triggers(engine)) == 2 * len(immutable.TABLES)
        _fill(engine)
        command.downgrade(cfg, "0012_disputes")  # the guards go, the data stays
        assert _triggers(engine) == set()
        assert _run(engine, "UPDATE pay_postings SET note = 'unguarded'") == 1
        command.upgrade(cfg, "head")
        _refused(engine, "UPDATE pay_postings SET note = 'again'", "append-only")
    finally:
        engine.dispose()
    # the whole chain down to empty: the guarded tables go, rows and all
    command.downgrade(cfg, "base")
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                assert conn.execute(text(
                    "SELECT count(*) FROM pg_proc WHERE proname LIKE 'casslink_guard_%'"
                )).scalar_one() == 0
    finally:
        engine.dispose()
    command.upgrade(cfg, "head")


def test_the_invoice_guard_names_every_other_column():
    """A new column of ``invoices`` must be added to the guard (else it could change)."""
    columns = {c.name for c in Invoice.__table__.columns}
    assert set(immutable.INVOICE_COLUMNS) == columns - {"status", "cancelled_by"}
    assert len(immutable.INVOICE_COLUMNS) == len(set(immutable.INVOICE_COLUMNS))


def test_install_replaces_an_older_version_of_a_trigger(db_url):
    """A changed guard reaches a database that has the old one: ``install`` re-creates every
    trigger (SQLite's ``CREATE TRIGGER IF NOT EXISTS`` would keep the stale one)."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        _fill(engine)
        with engine.begin() as conn:  # an "older version" of the guard that lets updates by
            if engine.dialect.name == "sqlite":
                conn.execute(text("DROP TRIGGER pay_postings_no_update"))
                conn.execute(text("CREATE TRIGGER pay_postings_no_update BEFORE UPDATE ON "
                                  "pay_postings WHEN 0 BEGIN SELECT RAISE(ABORT, 'old'); END"))
            else:
                conn.execute(text("CREATE OR REPLACE FUNCTION casslink_guard_pay_postings() "
                                  "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; "
                                  "END $$"))
        assert _run(engine, "UPDATE pay_postings SET note = 'stale guard'") == 1
        with engine.begin() as conn:
            immutable.install(conn)
        _refused(engine, "UPDATE pay_postings SET note = 'again'", "append-only")
        assert len(_triggers(engine)) == 2 * len(immutable.TABLES)  # none doubled
    finally:
        engine.dispose()
