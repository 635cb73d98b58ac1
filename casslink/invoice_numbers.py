"""Gap-free invoice number series (issue 26), on SQLite and PostgreSQL alike.

A series is one row of ``invoice_series`` per (issuer, operation, year, series letter).
:func:`allocate` raises its ``last_number`` by one with ``UPDATE ... RETURNING`` inside the
caller's transaction, and the caller stores the document taking the number in that same
transaction: either both commit or neither does, so a number is never lost (no gap) and
never given twice (the row lock of PostgreSQL, the database write lock of SQLite, serialise
concurrent allocations; ``UNIQUE (series_id, seq)`` backs it up).

On SQLite the allocation must be the transaction's FIRST statement: a transaction that has
read before its first write cannot wait for the write lock (SQLITE_BUSY at once), whereas a
first write waits up to the engine's busy timeout.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casslink.db.models import InvoiceSeries


def allocate(session: Session, issuer: str, operation: str, year: int,
             series: str = "") -> tuple[int, int]:
    """(series id, next number) of the series, creating it at 0 on first use. The number is
    the caller's only if its transaction commits."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(InvoiceSeries).values(
        issuer=issuer, operation_code=operation, year=year, series=series, last_number=0,
    ).on_conflict_do_nothing(index_elements=["issuer", "operation_code", "year", "series"]))
    row = session.execute(
        update(InvoiceSeries)
        .where(InvoiceSeries.issuer == issuer, InvoiceSeries.operation_code == operation,
               InvoiceSeries.year == year, InvoiceSeries.series == series)
        .values(last_number=InvoiceSeries.last_number + 1)
        .returning(InvoiceSeries.id, InvoiceSeries.last_number)
        .execution_options(synchronize_session=False)).one()
    return int(row[0]), int(row[1])


def last_number(session: Session, issuer: str, operation: str, year: int,
                series: str = "") -> int:
    """The series' last issued number (0 when it has none)."""
    value = session.scalar(select(InvoiceSeries.last_number).where(
        InvoiceSeries.issuer == issuer, InvoiceSeries.operation_code == operation,
        InvoiceSeries.year == year, InvoiceSeries.series == series))
    return int(value or 0)
