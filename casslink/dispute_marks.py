"""Which billed AWB lines are disputed: the marks the statements (Excel, XML, the portal)
show on a line - the dispute's id, status and, once decided, the accepted amount.

A vocabulary-level read of the ``disputes`` table, so the output stage can mark its lines
without importing the app layer. A period's marks are the disputes of AWBs billed in it and
of those whose CCA/DCM it bills; an AWB disputed more than once shows its latest dispute.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, or_, select

from casslink.db.engine import session_scope
from casslink.db.models import Dispute

DECIDED = ("ACCEPTED", "PARTLY_ACCEPTED", "ADJUSTED")
"""Statuses whose accepted amount is shown."""


@dataclass(frozen=True)
class Mark:
    dispute_id: int
    status: str
    accepted_minor: int | None  # settlement currency; None until accepted

    @property
    def decided(self) -> bool:
        return self.accepted_minor is not None


Key = tuple[str, str, str]  # airline prefix, AWB serial, agent code


def marks(engine: Engine, operation: str, period_id: str,
          agent: str | None = None, airline: str | None = None) -> dict[Key, Mark]:
    """The marks of a period's lines (only one ``agent``'s or ``airline``'s if given)."""
    q = select(Dispute.id, Dispute.airline_prefix, Dispute.awb_serial, Dispute.agent_code,
               Dispute.status, Dispute.accepted_minor).where(
        Dispute.operation_code == operation,
        or_(Dispute.period_id == period_id, Dispute.adjust_period_id == period_id))
    if agent:
        q = q.where(Dispute.agent_code == agent)
    if airline:
        q = q.where(Dispute.airline_prefix == airline)
    out: dict[Key, Mark] = {}
    with session_scope(engine) as s:
        for i, prefix, serial, agent_code, status, accepted in s.execute(q.order_by(
                Dispute.id)):
            out[(prefix, serial, agent_code)] = Mark(
                i, status, accepted if status in DECIDED else None)
    return out


def mark_columns(found: dict[Key, Mark], airline: pa.Array, serial: pa.Array,
                 agent: pa.Array) -> dict[str, pa.Array]:
    """Per line (the three key columns): ``dispute_id``, ``dispute_status`` and
    ``dispute_accepted`` (nulls where the line is not disputed, or not decided)."""
    n = len(airline)
    if not found or not n:
        return {"dispute_id": pa.nulls(n, pa.int64()), "dispute_status": pa.nulls(n, pa.string()),
                "dispute_accepted": pa.nulls(n, pa.int64())}
    keys = pc.binary_join_element_wise(airline, serial, agent, "|")
    marks_ = list(found.values())
    at = pc.index_in(keys, pa.array(["|".join(k) for k in found]))
    return {
        "dispute_id": pa.array([m.dispute_id for m in marks_], pa.int64()).take(at),
        "dispute_status": pa.array([m.status for m in marks_], pa.string()).take(at),
        "dispute_accepted": pa.array([m.accepted_minor for m in marks_], pa.int64()).take(at),
    }
