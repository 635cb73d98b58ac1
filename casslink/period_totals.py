"""Real-time period totals: what each (airline, agent) pair has accepted so far in a period.

:func:`of_records` sums an accepted file's records per pair and currency (the agent-net
components of ``casslink.canonical.NET_TERMS``, and the net) and checks that the sums
conserve the file's amounts; :func:`add` adds them to ``period_totals`` inside the caller's
transaction - the one that records the file's outcome (``registry.record_outcome``), so the
totals and the billed parts can never disagree. The portal reads only this table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casslink.canonical import NET_TERMS
from casslink.db.models import PeriodTotal

COMPONENTS = tuple(NET_TERMS)
"""The money columns summed per pair (their signs make the net)."""
KEY = ("airline_prefix", "agent_code", "currency")


class ConservationError(AssertionError):
    """The per-pair sums do not add up to the file's own totals."""


ORIGINAL_TYPES = ("CCO", "DCO")
"""A correction pair bills revised - original: original rows count with sign -1, revised rows
and AWB billings with +1 (as settlement's ledger does; spec §4.5)."""


def signed(records: pa.Table, column: str) -> pa.Array:
    """``column`` (nulls as 0) with the original rows of corrections negated."""
    values = pc.fill_null(records.column(column), 0)
    original = pc.is_in(records.column("record_type"), value_set=pa.array(ORIGINAL_TYPES))
    return pc.if_else(pc.fill_null(original, False), pc.negate_checked(values), values)


def of_records(records: pa.Table) -> list[dict]:
    """One row per (airline, agent, currency) of ``records``: ``records`` (count), each
    component signed (corrections bill revised - original) and ``net`` (minor units).
    Raises ConservationError if the pairs' sums differ from the whole table's."""
    if records.num_rows == 0:
        return []
    cols = {c: signed(records, c) for c in COMPONENTS}
    table = pa.table({**{k: pc.fill_null(records.column(k), "") for k in KEY}, **cols})
    grouped = table.group_by(list(KEY)).aggregate(
        [(c, "sum") for c in COMPONENTS] + [(KEY[0], "count")])
    rows = []
    for r in grouped.to_pylist():
        row = {k: r[k] for k in KEY}
        row["records"] = int(r[f"{KEY[0]}_count"])
        for c in COMPONENTS:
            row[c] = int(r[f"{c}_sum"] or 0)
        row["net"] = sum(sign * row[c] for c, sign in NET_TERMS.items())
        rows.append(row)
    for c in COMPONENTS:
        whole = int(pc.sum(cols[c]).as_py() or 0)
        if sum(r[c] for r in rows) != whole:
            raise ConservationError(f"period totals lose money in {c}: "
                                    f"{sum(r[c] for r in rows)} != {whole}")
    if sum(r["records"] for r in rows) != records.num_rows:
        raise ConservationError("period totals lose records")
    return rows


def add(session: Session, operation: str, period_id: str, rows: Sequence[dict]) -> None:
    """Add one file's per-pair rows to the period's totals (an upsert that adds; concurrent
    ingests of the same pair never lose an addition)."""
    if not rows:
        return
    now = dt.datetime.now(dt.UTC)
    values = [{"operation_code": operation, "period_id": period_id, "files": 1,
               "updated_at": now, **r} for r in rows]
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    summed = ("files", "records", *COMPONENTS, "net")
    if insert is None:  # another database: read, add, write (no concurrent-writer guarantee)
        for v in values:
            row = session.get(PeriodTotal, (operation, period_id, v["airline_prefix"],
                                            v["agent_code"], v["currency"]))
            if row is None:
                session.add(PeriodTotal(**v))
            else:
                for c in summed:
                    setattr(row, c, getattr(row, c) + v[c])
                row.updated_at = now
        return
    stmt = insert(PeriodTotal).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["operation_code", "period_id", *KEY],
        set_={**{c: getattr(PeriodTotal, c) + getattr(stmt.excluded, c) for c in summed},
              "updated_at": stmt.excluded.updated_at})
    session.execute(stmt)


def for_participant(session: Session, kind: str, code: str, operation: str | None,
                    period_id: str | None = None) -> list:
    """The rows of an airline (by prefix) or an agent, in ``operation`` and ``period_id``
    when given, ordered by period, currency and counterpart: plain rows (attribute access
    by column name), not ORM objects - an airline has one per agent."""
    col = PeriodTotal.airline_prefix if kind in ("airline", "gssa") else PeriodTotal.agent_code
    q = select(*PeriodTotal.__table__.columns).where(col == code)
    if operation:
        q = q.where(PeriodTotal.operation_code == operation)
    if period_id:
        q = q.where(PeriodTotal.period_id == period_id)
    return list(session.connection().execute(q.order_by(PeriodTotal.period_id, PeriodTotal.currency,
                                           PeriodTotal.airline_prefix,
                                           PeriodTotal.agent_code)))
