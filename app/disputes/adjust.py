"""An accepted dispute bills itself: its DCM is written as the airline's HOT billing file,
landed on the ``dispute`` channel and ingested by ``casslink.app.ingest.ingest_file`` - the
same rules, acknowledgement, warehouse part and lineage as a file the airline sends.

Exactly once: the file's registry row is created in the same transaction that links it to
the dispute (``disputes.file_id``, unique). A retry after a crash (fault points
``CASSLINK_FAULT=dispute:<step>``: ``written``, ``linked``, ``ingested``) finds the link and
resumes that file's ingest, which is itself idempotent; it never lands a second DCM.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Engine, select

from casslink import registry
from casslink.db.engine import session_scope
from casslink.db.models import Dispute, DisputeEvent, DisputeFile, LandedFile
from casslink.faults import checkpoint
from casslink.participants import resolve
from casslink.reference import ReferenceData, load_reference
from casslink.settings import Settings
from casslink.storage import atomic_write_bytes, sha256_of

from . import states
from .billed import billed_awb
from .dcm import billing_for, dcm_file, dcm_rows

SYSTEM = "casslink"


class AdjustmentFailed(RuntimeError):
    """The generated DCM was rejected by the ingest rules (the dispute stays accepted)."""


def reason_text(d: Dispute) -> str:
    """The DCM's reason: it names the dispute (50 characters at most)."""
    return f"DISPUTE {d.id} {d.reason_code} {d.text}".strip()[:50]


def _bytes(settings: Settings, engine: Engine, d: Dispute, ref: ReferenceData) -> bytes:
    billed = billed_awb(settings, engine, d.operation_code, d.airline_prefix, d.awb_serial,
                        d.agent_code)
    rows = dcm_rows(billed, json.loads(d.claims), d.remove_awb, int(d.accepted_minor or 0),
                    d.dcm_number or "", reason_text(d), instrument=d.instrument,
                    billing=billing_for(ref, d.operation_code, d.adjust_period_id or ""))
    period = ref.period(d.operation_code, d.adjust_period_id or "")
    if period is None:
        raise AdjustmentFailed(f"dispute {d.id}: no period {d.adjust_period_id} to bill in")
    return dcm_file(rows, ref.operations[d.operation_code], period, d.airline_prefix)


def land(settings: Settings, engine: Engine, dispute_id: int, ref: ReferenceData) -> int:
    """The dispute's DCM file id: landed and linked now, or the one linked before."""
    with session_scope(engine) as s:
        d = s.get(Dispute, dispute_id)
        if d.file_id is not None:
            return d.file_id
        s.expunge(d)
    data = _bytes(settings, engine, d, ref)
    settings.ensure_dirs()
    sha = sha256_of(data)
    path = registry.landing_path(settings, sha)
    if not path.exists():
        atomic_write_bytes(path, data)
    checkpoint("dispute", "written")
    airline = resolve(engine, d.airline_prefix)
    with session_scope(engine) as s:
        d = s.get(Dispute, dispute_id, with_for_update=True)
        if d.file_id is not None:  # another attempt linked first
            return d.file_id
        row = LandedFile(sha256=sha, size=len(data), participant_id=airline.id,
                         user_login=None, original_name=f"DISPUTE_{d.id:06d}_{d.dcm_number}.hot",
                         channel="dispute", stored_path=str(path), state="landed")
        s.add(row)
        s.flush()
        d.file_id = row.id
        s.add(DisputeFile(dispute_id=d.id, file_id=row.id, role="generated",
                          correction_number=d.dcm_number))
        s.add(DisputeEvent(dispute_id=d.id, actor=SYSTEM, action="adjustment-landed",
                           detail=json.dumps({"file_id": row.id, "sha256": sha,
                                              "dcm_number": d.dcm_number,
                                              "period": d.adjust_period_id})))
        file_id = row.id
    checkpoint("dispute", "linked")
    return file_id


def adjust(settings: Settings, engine: Engine, dispute_id: int,
           ref: ReferenceData | None = None) -> Dispute:
    """Bill an accepted dispute's DCM (idempotent): ADJUSTED once its file is accepted."""
    from casslink.app.ingest import ingest_file

    ref = ref or load_reference(settings)
    with session_scope(engine) as s:
        d = s.get(Dispute, dispute_id)
        if d.status == states.ADJUSTED:
            s.expunge(d)
            return d
        states.check(d.status, states.ADJUSTED, d.id)
    file_id = land(settings, engine, dispute_id, ref)
    ingest_file(settings, engine, file_id, reference=ref)
    checkpoint("dispute", "ingested")
    row = registry.get(engine, file_id)
    ok = row.state == "archived" and bool(row.part_name) and bool(row.accepted_count)
    with session_scope(engine) as s:
        d = s.get(Dispute, dispute_id, with_for_update=True)
        if not ok:
            s.add(DisputeEvent(dispute_id=d.id, actor=SYSTEM, action="adjustment-rejected",
                               detail=json.dumps({"file_id": file_id, "state": row.state,
                                                  "ack": row.ack_name})))
        elif d.status != states.ADJUSTED:
            s.add(DisputeEvent(dispute_id=d.id, actor=SYSTEM, action="adjusted",
                               from_status=d.status, to_status=states.ADJUSTED,
                               detail=json.dumps({"file_id": file_id,
                                                  "billed_period": row.billed_period_id})))
            d.status, d.adjusted_at = states.ADJUSTED, dt.datetime.now(dt.UTC)
            d.adjust_period_id = row.billed_period_id
        s.flush()
        s.expunge(d)
    if not ok:
        raise AdjustmentFailed(f"dispute {dispute_id}: its DCM (file {file_id}) was not "
                               f"accepted ({row.state}); see {row.ack_name}")
    return d


def pending(engine: Engine) -> list[int]:
    """Accepted disputes whose DCM is not billed yet (a crash, or a rejected DCM)."""
    with session_scope(engine) as s:
        return list(s.scalars(select(Dispute.id).where(
            Dispute.status.in_((states.ACCEPTED, states.PARTLY_ACCEPTED)))
            .order_by(Dispute.id)))
