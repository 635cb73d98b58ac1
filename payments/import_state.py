"""What importing one bank statement reads from the database, read up front in a few queries
(a statement's names go in chunks of :data:`CHUNK`), then kept current in memory while its
entries are matched and posted (:func:`casslink.payments.statements.import_statement`).

The state is also the :class:`casslink.payments.defaults.Book` of the irregularities the
entries raise (the agents' irregularities and status events are read up front too). The new
rows (postings, movements, entries, irregularities, status events) wait in memory and reach
the database as one multi-row INSERT per table (:meth:`ImportState.finish`), before the hinge
check. An import costs a number of queries that grows with its chunks, not its entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TypeVar

from sqlalchemy import func, insert, inspect, select
from sqlalchemy.orm import Session

from casslink.db.models import (
    PayAgentEvent,
    PayEntry,
    PayIrregularity,
    PayMovement,
    PayPosting,
    PayRemittance,
)
from casslink.payments import defaults, ledger

Row = PayPosting | PayMovement | PayEntry | PayIrregularity | PayAgentEvent

CHUNK = 500  # names per IN (...) list: far below every database's limit of parameters
T = TypeVar("T")


def _values(row: Row) -> dict:
    """The row's column values for an INSERT, the same columns for every row of a model: an
    unset column gets its constant default; the key and timestamps are left to the database
    and to their default functions."""
    out = {}
    for attr in inspect(type(row)).column_attrs:
        value, column = getattr(row, attr.key), attr.columns[0]
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg
        if value is not None or not (column.primary_key or column.default is not None):
            out[attr.key] = value
    return out


def chunks(values: Iterable[T]) -> Iterator[list[T]]:
    items = sorted(set(values))  # type: ignore[type-var]
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


class ImportState(defaults.Book):
    """The statement's remittances (by reference, by agent), their outstanding amounts, their
    agents' irregularities and status, the collections a return may reverse, the keys already
    posted."""

    def __init__(self, s: Session, operation: str, references: set[str], agents: set[str],
                 keys: list[str], returned: set[str]) -> None:
        """Read what entries quoting ``references``, paid by ``agents``, posted under ``keys``
        and returning the collections of remittances ``returned`` (references) need."""
        super().__init__(s)
        self.op = operation
        self.by_reference: dict[str, PayRemittance] = {}
        for part in chunks(r.upper() for r in references | returned):
            for r in s.scalars(select(PayRemittance).where(PayRemittance.reference.in_(part))):
                self.by_reference[r.reference] = r
        self.by_agent: dict[str, list[PayRemittance]] = {}
        mine = {r.id: r for r in self.by_reference.values() if r.operation_code == operation}
        for part in chunks(agents):
            mine.update((r.id, r) for r in s.scalars(select(PayRemittance).where(
                PayRemittance.operation_code == operation, PayRemittance.agent_code.in_(part))))
        for r in sorted(mine.values(), key=lambda r: (r.remittance_date, r.id)):
            self.by_agent.setdefault(r.agent_code, []).append(r)
        self.owed = {(r.agent_code, r.period_id, r.currency): 0 for r in mine.values()}
        self._read_balances({r.agent_code for r in mine.values()})
        self.uncured: dict[tuple[str, str], list[PayIrregularity]] = {
            (r.agent_code, r.period_id): [] for r in mine.values()}
        self.irregularities: dict[str, list[PayIrregularity]] = {}
        self.statuses: dict[str, str] = {}
        self.reinstated_after: dict[str, int] = {}
        self._read_agents({r.agent_code for r in mine.values()})
        self.posted: set[str] = set()
        self.moved: set[str] = set()
        for part in chunks(keys):
            self.posted.update(s.scalars(select(PayPosting.key).where(PayPosting.key.in_(part))))
            self.moved.update(s.scalars(select(PayMovement.key).where(
                PayMovement.key.in_(part))))
        self.collections: dict[tuple[str, str], list[PayPosting]] = {}
        self.reversed: set[int] = set()
        self.pending: dict[type, list[Row]] = {
            PayMovement: [], PayPosting: [], PayEntry: [], PayIrregularity: [],
            PayAgentEvent: []}
        self._read_collections({self.by_reference[r.upper()].agent_code for r in returned
                                if r.upper() in self.by_reference})

    def _read_balances(self, agents: set[str]) -> None:
        """Debits minus credits of the agents' accounts per period and currency (two grouped
        queries per chunk, as :func:`ledger.agent_balances`)."""
        for part in chunks(ledger.agent(a) for a in agents):
            for side, sign in ((PayPosting.debit_account, 1), (PayPosting.credit_account, -1)):
                for account, period, currency, total in self.s.execute(select(
                        side, PayPosting.period_id, PayPosting.currency,
                        func.sum(PayPosting.amount)).where(
                        PayPosting.operation_code == self.op, side.in_(part)).group_by(
                        side, PayPosting.period_id, PayPosting.currency)):
                    key = (account.removeprefix("agent:"), period, currency)
                    if key in self.owed:
                        self.owed[key] += sign * int(total)

    def _read_agents(self, agents: set[str]) -> None:
        """The agents' irregularities (the uncured ones by period) and status events."""
        for part in chunks(agents):
            for irr in self.s.scalars(select(PayIrregularity).where(
                    PayIrregularity.operation_code == self.op,
                    PayIrregularity.agent_code.in_(part)).order_by(PayIrregularity.id)):
                self.irregularities.setdefault(irr.agent_code, []).append(irr)
                if irr.cured_on is None:
                    self.uncured.setdefault((irr.agent_code, irr.period_id), []).append(irr)
            for ev in self.s.scalars(select(PayAgentEvent).where(
                    PayAgentEvent.operation_code == self.op, PayAgentEvent.agent_code.in_(part),
                    PayAgentEvent.action == "status").order_by(PayAgentEvent.id)):
                self.statuses[ev.agent_code] = ev.to_status
                if ev.to_status == defaults.REINSTATED:  # as defaults._reinstated_after
                    self.reinstated_after[ev.agent_code] = int(
                        ev.reason.rsplit("#", 1)[-1]) if "#" in ev.reason else 0

    def _read_collections(self, agents: set[str]) -> None:
        """The agents' collection postings not reversed yet, oldest first."""
        for part in chunks(ledger.agent(a) for a in agents):
            rows = self.s.scalars(select(PayPosting).where(
                PayPosting.operation_code == self.op, PayPosting.kind == "collection",
                PayPosting.credit_account.in_(part)).order_by(PayPosting.id)).all()
            for p in rows:
                key = (p.credit_account.removeprefix("agent:"), p.period_id or "")
                self.collections.setdefault(key, []).append(p)
            for ids in chunks(p.id for p in rows):
                self.reversed.update(self.s.scalars(select(PayPosting.reverses_id).where(
                    PayPosting.reverses_id.in_(ids))))

    def outstanding(self, r: PayRemittance) -> int:
        """:func:`casslink.payments.dues.outstanding` of ``r``, as posted so far."""
        return self.owed[(r.agent_code, r.period_id, r.currency)]

    def has_uncured(self, r: PayRemittance) -> bool:
        return bool(self.uncured.get((r.agent_code, r.period_id)))

    def status(self, operation: str, agent_code: str) -> str:
        assert operation == self.op
        return self.statuses.get(agent_code, defaults.ACTIVE)

    def counted(self, operation: str, agent_code: str, since: dt.date) -> int:
        assert operation == self.op
        after = self.reinstated_after.get(agent_code, 0)
        return sum(1 for irr in self.irregularities.get(agent_code, ())
                   if irr.raised_on > since and (irr.id is None or irr.id > after))

    def record(self, row: PayIrregularity | PayAgentEvent) -> None:
        """An irregularity or status event, written by :meth:`finish`."""
        self.pending[type(row)].append(row)
        if isinstance(row, PayIrregularity):
            self.irregularities.setdefault(row.agent_code, []).append(row)
            if row.cured_on is None:
                self.uncured.setdefault((row.agent_code, row.period_id), []).append(row)
        elif row.action == "status":
            self.statuses[row.agent_code] = row.to_status

    def candidates(self, agents: set[str], currency: str) -> list[PayRemittance]:
        """The agents' open remittances in ``currency``, oldest remittance date first."""
        rows = [r for a in agents for r in self.by_agent.get(a, ())
                if r.currency == currency and r.due > 0]
        return sorted(rows, key=lambda r: (r.remittance_date, r.id))

    def post(self, key: str, currency: str, debit: str, credit: str, amount: int, kind: str,
             value_date: dt.date, period_id: str | None = None, note: str = "",
             reverses: PayPosting | None = None) -> PayPosting | None:
        """:func:`ledger.post`, written by :meth:`write`; the outstanding amounts follow."""
        row = ledger.posting(key, self.op, currency, debit, credit, amount, kind, value_date,
                             period_id, note, reverses)
        if row is None or key in self.posted:
            return None
        self.posted.add(key)
        self.pending[PayPosting].append(row)
        for account, sign in ((row.debit_account, 1), (row.credit_account, -1)):
            if account.startswith("agent:") and row.period_id is not None:
                self.owed[(account.removeprefix("agent:"), row.period_id, currency)] += \
                    sign * row.amount
        if kind == "collection":
            self.collections.setdefault(
                (row.credit_account.removeprefix("agent:"), row.period_id or ""), []).append(row)
        return row

    def move(self, key: str, currency: str, direction: str, amount: int,
             value_date: dt.date) -> None:
        """:func:`ledger.move`, written by :meth:`write`."""
        row = ledger.movement(key, self.op, currency, direction, amount, key, value_date)
        if key not in self.moved:
            self.moved.add(key)
            self.pending[PayMovement].append(row)

    def add_entry(self, row: PayEntry) -> None:
        """A statement entry, written by :meth:`write`."""
        self.pending[PayEntry].append(row)

    def write(self, models: tuple[type, ...] = (PayMovement, PayPosting)) -> None:
        """Insert the ``models``' rows waiting in memory: one multi-row INSERT per table
        (psycopg and sqlite3 ``executemany``)."""
        for model in models:
            rows = self.pending[model]
            if rows:
                self.s.execute(insert(model), [_values(r) for r in rows])
                rows.clear()

    def finish(self) -> None:
        """Insert every row waiting in memory (irregularities as cured by then)."""
        self.write(tuple(self.pending))

    def collection_to_reverse(self, r: PayRemittance, amount: int) -> PayPosting | None:
        """The oldest collection of ``amount`` for ``r`` not reversed yet (now marked so)."""
        for p in self.collections.get((r.agent_code, r.period_id), ()):
            if p.amount != amount:
                continue
            if p.id is None:  # collected by this very statement: written, it has an id
                self.write()
                p.id = self.s.scalar(select(PayPosting.id).where(PayPosting.key == p.key))
            if p.id not in self.reversed:
                self.reversed.add(p.id)
                return p
        return None
