"""Real-time period totals: what each (airline, agent) pair has accepted so far in a period.

:func:`of_records` sums an accepted file's records per pair and currency (the agent-net
components of ``casslink.canonical.NET_TERMS``, and the net) and checks that the sums
conserve the file's amounts; :func:`add` adds them to ``period_totals``, and their sums per
airline and per agent to ``participant_totals``, inside the caller's transaction - the one
that records the file's outcome (``registry.record_outcome``), so the totals and the billed
parts can never disagree. The portal reads only these tables: a participant's totals per
currency from ``participant_totals`` (a few rows, however many counterparts it has), its
counterparts' rows from ``period_totals``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casslink.canonical import NET_TERMS
from casslink.db.models import ParticipantTotal, PeriodTotal

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


SUMMED = ("records", *COMPONENTS, "net")
"""The columns :func:`add` adds to (a pair's rows also count ``files``)."""
ROW_FIELDS = ("counterpart", "currency", "records", "files", *COMPONENTS, "net")
"""The keys of the rows :func:`for_participant` returns."""


def side(kind: str) -> str:
    """The side of ``participant_totals`` a participant kind is on: airline or agent."""
    return "airline" if kind in ("airline", "gssa") else "agent"


def per_participant(rows: Sequence[dict]) -> list[dict]:
    """``rows`` (per pair) summed per (side, code, currency): each airline's and each agent's
    records, components and net."""
    out: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        for key in (("airline", r["airline_prefix"], r["currency"]),
                    ("agent", r["agent_code"], r["currency"])):
            acc = out.get(key)
            if acc is None:
                out[key] = {"side": key[0], "code": key[1], "currency": key[2],
                            **{c: r[c] for c in SUMMED}}
            else:
                for c in SUMMED:
                    acc[c] += r[c]
    return list(out.values())


def add(session: Session, operation: str, period_id: str, rows: Sequence[dict]) -> None:
    """Add one file's per-pair rows to the period's totals, and their sums per participant to
    ``participant_totals`` (upserts that add; concurrent ingests of the same pair never lose
    an addition)."""
    if not rows:
        return
    now = dt.datetime.now(dt.UTC)
    common = {"operation_code": operation, "period_id": period_id, "updated_at": now}
    _add_to(session, PeriodTotal, [{**common, "files": 1, **r} for r in rows],
            ("operation_code", "period_id", *KEY), ("files", *SUMMED))
    _add_to(session, ParticipantTotal, [{**common, **r} for r in per_participant(rows)],
            ("side", "code", "operation_code", "period_id", "currency"), SUMMED)


def _add_to(session: Session, model: type, values: list[dict], key: Sequence[str],
            summed: Sequence[str]) -> None:
    """Insert ``values`` into ``model``'s table, adding ``summed`` to the rows that exist -
    in key order, so concurrent ingests lock shared rows (an agent in both files) in the same
    order and never deadlock."""
    values = sorted(values, key=lambda v: tuple(v[k] for k in key))
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:  # another database: read, add, write (no concurrent-writer guarantee)
        for v in values:
            row = session.get(model, tuple(v[k] for k in key))
            if row is None:
                session.add(model(**v))
            else:
                for c in summed:
                    setattr(row, c, getattr(row, c) + v[c])
                row.updated_at = v["updated_at"]
        return
    stmt = insert(model).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={**{c: getattr(model, c) + getattr(stmt.excluded, c) for c in summed},
              "updated_at": stmt.excluded.updated_at})
    session.execute(stmt)


def _pairs_of(q, kind: str, code: str, operation: str | None, period_id: str | None):
    """``q`` narrowed to the pair rows of the participant (in the operation and period)."""
    col = PeriodTotal.airline_prefix if side(kind) == "airline" else PeriodTotal.agent_code
    q = q.where(col == code)
    if operation:
        q = q.where(PeriodTotal.operation_code == operation)
    if period_id:
        q = q.where(PeriodTotal.period_id == period_id)
    return q


def for_participant(session: Session, kind: str, code: str, operation: str | None,
                    period_id: str | None = None, largest: int | None = None) -> list[dict]:
    """The pair rows of an airline (by prefix) or an agent, in ``operation`` and
    ``period_id`` when given, ordered by period, currency and counterpart - or, with
    ``largest``, only that many with the largest absolute net first: dicts of
    ``ROW_FIELDS``, the counterpart being the agent of an airline's row and the airline of
    an agent's (an airline has one row per agent)."""
    counterpart = (PeriodTotal.agent_code if side(kind) == "airline"
                   else PeriodTotal.airline_prefix)
    cols = [counterpart, *(getattr(PeriodTotal, c) for c in ROW_FIELDS[1:])]
    q = _pairs_of(select(*cols), kind, code, operation, period_id)
    order = (PeriodTotal.period_id, PeriodTotal.currency, PeriodTotal.airline_prefix,
             PeriodTotal.agent_code)
    if largest is not None:
        q = q.order_by(func.abs(PeriodTotal.net).desc(), *order).limit(largest)
    else:
        q = q.order_by(*order)
    return [dict(zip(ROW_FIELDS, r, strict=True)) for r in session.connection().execute(q)]


def count_for_participant(session: Session, kind: str, code: str, operation: str | None,
                          period_id: str | None = None) -> int:
    """How many pair rows :func:`for_participant` would return (without ``largest``)."""
    return session.scalar(_pairs_of(select(func.count()).select_from(PeriodTotal), kind, code,
                                    operation, period_id))


def of_participants(session: Session, participants: Sequence[tuple[str, str]],
                    operation: str | None = None) -> list:
    """The totals per period and currency (``participant_totals``: records, components, net,
    updated_at) of each (kind, code) of ``participants``, in ``operation`` when given,
    ordered by code, operation, period and currency: plain rows, in one query."""
    pt = ParticipantTotal
    wanted = {(side(kind), code) for kind, code in participants}
    if not wanted:
        return []
    q = select(*pt.__table__.columns).where(pt.side.in_({sd for sd, _ in wanted}),
                                            pt.code.in_({code for _, code in wanted}))
    if operation:
        q = q.where(pt.operation_code == operation)
    rows = session.connection().execute(
        q.order_by(pt.code, pt.side, pt.operation_code, pt.period_id, pt.currency))
    return [r for r in rows if (r.side, r.code) in wanted]
