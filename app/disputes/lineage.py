"""Disputes and the files that adjust them: ``casslink trace`` reaches a dispute from a
ledger line's file, and an airline's own CCA/DCM for a disputed AWB is linked at ingest."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, select

from casslink.canonical import CORRECTION_TYPES
from casslink.db.engine import session_scope
from casslink.db.models import Dispute, DisputeEvent, DisputeFile


def disputes_of_files(engine: Engine, file_ids: list[int]) -> dict[int, list[dict]]:
    """file id -> the disputes it adjusts (id, status, role, CCA/DCM number)."""
    ids = [i for i in file_ids if i is not None]
    if not ids:
        return {}
    out: dict[int, list[dict]] = {}
    with session_scope(engine) as s:
        rows = s.execute(select(DisputeFile, Dispute.status).join(
            Dispute, Dispute.id == DisputeFile.dispute_id).where(DisputeFile.file_id.in_(ids))
            .order_by(DisputeFile.dispute_id)).all()
        for link, status in rows:
            out.setdefault(link.file_id, []).append(
                {"dispute_id": link.dispute_id, "status": status, "role": link.role,
                 "correction_number": link.correction_number})
    return out


def link_airline_corrections(engine: Engine, file_id: int, participant_code: str,
                             records: pa.Table) -> list[int]:
    """Link the airline's accepted CCA/DCM records of this file to the disputes of the same
    AWB and agent (any status: the history says the airline adjusted it itself)."""
    if records.num_rows == 0:
        return []
    corr = records.filter(pc.is_in(records.column("record_type"),
                                   pa.array(CORRECTION_TYPES)))
    keys = {(r["airline_prefix"], r["awb_serial"], r["agent_code"]): r["correction_number"]
            for r in corr.select(["airline_prefix", "awb_serial", "agent_code",
                                  "correction_number"]).to_pylist()
            if r["airline_prefix"] == participant_code}
    if not keys:
        return []
    linked = []
    with session_scope(engine) as s:
        for d in s.scalars(select(Dispute).where(
                Dispute.airline_prefix == participant_code,
                Dispute.awb_serial.in_({k[1] for k in keys}))):
            number = keys.get((d.airline_prefix, d.awb_serial, d.agent_code))
            if number is None or d.file_id == file_id or s.scalars(select(DisputeFile).where(
                    DisputeFile.dispute_id == d.id, DisputeFile.file_id == file_id)).first():
                continue
            s.add(DisputeFile(dispute_id=d.id, file_id=file_id, role="airline",
                              correction_number=number))
            s.add(DisputeEvent(dispute_id=d.id, actor=participant_code,
                               action="airline-correction",
                               detail=json.dumps({"file_id": file_id,
                                                  "correction_number": number})))
            linked.append(d.id)
    return linked
