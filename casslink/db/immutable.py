"""Append-only tables, enforced by the database itself (triggers on SQLite and PostgreSQL).

The ORM already refuses to change a posting (``payments.ledger.guard_immutable``); these
triggers refuse it to anyone holding a connection - raw SQL, a console, another program:

* ``pay_postings``, ``pay_movements`` (the payment ledger), ``dispute_events`` (a
  dispute's history), ``pay_agent_events`` (agent status changes and operator payment
  actions) and ``audit_log`` (admin actions): no UPDATE, no DELETE (and no TRUNCATE on
  PostgreSQL). A correction is a new row (a reversal, a new event).
* ``invoices``: never deleted; an issued row changes once, through the one allowed path - a
  cancellation by its credit note: ``status`` ``issued`` -> ``cancelled`` and
  ``cancelled_by`` NULL -> the credit note's number, every other column unchanged (no
  renumbering).
* ``invoice_series``: never deleted; an update only raises ``last_number`` by one (an
  allocation, :mod:`casslink.invoice_numbers`), so no number is given twice.

Migration ``0013_immutable_postings`` installs them; :func:`attach` makes
``Base.metadata.create_all`` install them too. A later migration that rebuilds one of these
tables on SQLite (alembic's batch mode copies the table) must call :func:`install` again.
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, Table, event, text

APPEND_ONLY = ("pay_postings", "pay_movements", "dispute_events", "pay_agent_events",
               "audit_log")
INVOICE_COLUMNS = (  # every column of ``invoices`` but status and cancelled_by
    "id", "number", "series_id", "seq", "doc_type", "type_code", "operation_code", "period_id",
    "run_id", "bill_key", "agent_code", "airline_prefix", "currency", "line_total",
    "tax_total", "payable", "language", "issue_date", "content_digest", "content", "cancels",
    "issued_at")
SERIES_COLUMNS = ("id", "issuer", "operation_code", "year", "series")  # never change
TABLES = (*APPEND_ONLY, "invoices", "invoice_series")

_CANCEL = ("OLD.status = 'issued' AND NEW.status = 'cancelled' AND OLD.cancelled_by IS NULL "
           "AND NEW.cancelled_by IS NOT NULL")
_ALLOCATE = "NEW.last_number = OLD.last_number + 1"


def _same(columns: tuple[str, ...], dialect: str) -> str:
    op = "IS" if dialect == "sqlite" else "IS NOT DISTINCT FROM"
    return " AND ".join(f"NEW.{c} {op} OLD.{c}" for c in columns)


def _sqlite(table: str) -> list[str]:
    def trigger(name: str, when: str, message: str, unless: str = "") -> list[str]:
        # dropped first: SQLite has no CREATE OR REPLACE TRIGGER, and IF NOT EXISTS would
        # keep an older version of a changed trigger
        condition = f" WHEN NOT ({unless})" if unless else ""
        return [f"DROP TRIGGER IF EXISTS {table}_{name}",
                f"CREATE TRIGGER {table}_{name} {when} ON {table}{condition} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"]

    if table in APPEND_ONLY:
        return [*trigger("no_update", "BEFORE UPDATE", f"{table} is append-only: no UPDATE"),
                *trigger("no_delete", "BEFORE DELETE", f"{table} is append-only: no DELETE")]
    allowed = (f"{_CANCEL} AND {_same(INVOICE_COLUMNS, 'sqlite')}" if table == "invoices"
               else f"{_ALLOCATE} AND {_same(SERIES_COLUMNS, 'sqlite')}")
    what = ("only a cancellation by credit note may change an issued invoice"
            if table == "invoices" else "a number series only counts up by one")
    return [*trigger("guarded_update", "BEFORE UPDATE", what, unless=allowed),
            *trigger("no_delete", "BEFORE DELETE", f"{table} rows are never deleted")]


def _postgresql(table: str) -> list[str]:
    fn = f"casslink_guard_{table}"
    if table in APPEND_ONLY:
        body = (f"RAISE EXCEPTION '{table} is append-only: no %', TG_OP "
                "USING ERRCODE = 'restrict_violation';")
    else:
        allowed = (f"{_CANCEL} AND {_same(INVOICE_COLUMNS, 'postgresql')}"
                   if table == "invoices" else
                   f"{_ALLOCATE} AND {_same(SERIES_COLUMNS, 'postgresql')}")
        body = (f"IF TG_OP = 'UPDATE' AND {allowed} THEN RETURN NEW; END IF; "
                f"RAISE EXCEPTION '{table}: % refused (issued numbers and documents are "
                "never changed but by a cancellation)', TG_OP "
                "USING ERRCODE = 'restrict_violation';")
    return [
        f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} END $$",
        f"DROP TRIGGER IF EXISTS {table}_guard ON {table}",
        f"CREATE TRIGGER {table}_guard BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {fn}()",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
    ]


def statements(table: str, dialect: str) -> list[str]:
    """The DDL that guards ``table`` on ``dialect`` (``sqlite`` or ``postgresql``)."""
    if dialect == "sqlite":
        return _sqlite(table)
    if dialect == "postgresql":
        return _postgresql(table)
    raise ValueError(f"no immutability triggers for the {dialect} dialect")


def install(conn: Connection, tables: tuple[str, ...] = TABLES) -> None:
    """Create (or re-create) the triggers of ``tables`` on the connection's database."""
    for table in tables:
        for sql in statements(table, conn.dialect.name):
            conn.execute(text(sql))


def uninstall(conn: Connection, tables: tuple[str, ...] = TABLES) -> None:
    """Drop the triggers (and PostgreSQL functions) :func:`install` created."""
    for table in tables:
        if conn.dialect.name == "sqlite":
            for name in ("no_update", "no_delete", "guarded_update"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_{name}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_guard ON {table}"))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
            conn.execute(text(f"DROP FUNCTION IF EXISTS casslink_guard_{table}()"))


def attach(metadata: MetaData) -> None:
    """Install each guarded table's triggers whenever ``metadata`` creates that table."""
    for name in TABLES:
        table = metadata.tables[name]

        def _created(target: Table, connection: Connection, **_kw) -> None:
            install(connection, (target.name,))

        event.listen(table, "after_create", _created)
