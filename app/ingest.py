"""The ingest path of one landed file: parse, validate, store, acknowledge, archive/quarantine.

``ingest_file`` is what the Airflow ingest DAG and ``casslink ingest`` both run. It is a
transaction that may be retried at any step: the warehouse part is written once, the
acknowledgement is rendered from the registry's data only (same bytes every time), and the
registry row moves to ``archived`` or ``quarantined`` last. A file already processed is not
processed again; its recorded outcome is returned.

``validate_bytes`` is the same parse + rule engine without any storage (``casslink validate``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.compute as pc
from sqlalchemy import Engine, or_, select

from casslink import registry, warehouse
from casslink.canonical import BillingBatch, FileHeader, empty_charges, empty_records
from casslink.db.engine import session_scope
from casslink.db.models import LandedFile
from casslink.outbox import deliver
from casslink.parsers import read_any, read_any_file
from casslink.participants import ParticipantRef, UnknownParticipant, by_id
from casslink.reference import PeriodInfo, ReferenceData, load_reference
from casslink.settings import Settings
from casslink.storage import atomic_write_bytes
from casslink.validators import ack
from casslink.validators.context import History, ValidationContext
from casslink.validators.engine import REJECTED, Finding, Verdict, validate


def parse(data: bytes, source_file: str) -> tuple[str, BillingBatch | None]:
    """Bytes -> (format, batch); batch None for a format we do not accept."""
    return read_any(data, source_file)


def validate_bytes(data: bytes, source_file: str, ctx: ValidationContext
                   ) -> tuple[BillingBatch, Verdict]:
    """Parse and validate bytes in any accepted format; never raises on bad input."""
    return validate_parsed(*parse(data, source_file), source_file, ctx)


def validate_parsed(fmt: str, batch: BillingBatch | None, source_file: str,
                    ctx: ValidationContext) -> tuple[BillingBatch, Verdict]:
    """Validate what a parser returned (``batch`` None: a format we do not accept)."""
    if batch is None:
        batch = BillingBatch(FileHeader(family=""), empty_records(), empty_charges(),
                             source_file=source_file, format=fmt)
        finding = Finding("FMT-E001", "file", f"the file is {fmt}, not a CASS fixed-width "
                          "(HOT) file", raw=fmt)
        return batch, Verdict(REJECTED, [finding], batch.records, batch.charges,
                              counts={"records": 0, "accepted": 0, "rejected": 0,
                                      "charges": 0, "errors": 1, "warnings": 0})
    return batch, validate(batch, ctx)


@dataclass
class IngestResult:
    file_id: int
    verdict: str
    state: str
    channel: str
    participant: str
    operation: str = ""
    period_id: str = ""
    billed_period_id: str = ""
    late: bool = False
    counts: dict = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    already_done: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def history_for(settings: Settings, engine: Engine, row: LandedFile, participant: ParticipantRef
                | None, operation: str) -> History:
    """What this participant sent before (sandbox files never count; neither does this file)."""
    hist = History()
    with session_scope(engine) as s:
        mine = [LandedFile.sha256 == row.sha256]
        if participant:
            mine.append(LandedFile.participant_id == participant.id)
        earlier = s.scalars(select(LandedFile).where(
            LandedFile.id != row.id, LandedFile.channel != "sandbox",
            LandedFile.state == "archived", or_(*mine))).all()
        for r in earlier:
            if r.sha256 == row.sha256:
                hist.sha256_seen.setdefault(r.sha256, r.id)
            if participant and r.participant_id == participant.id and r.verdict != REJECTED:
                hist.accepted_logical.add((participant.code, r.operation_code, r.period_id,
                                           r.file_number))
    if participant and participant.kind in ("airline", "gssa") and operation:
        hist.billed = warehouse.read(settings, operation, airline_prefix=participant.code,
                                     exclude_file_id=row.id, with_period=True)
    return hist


def billing_period(ref: ReferenceData, operation: str, period: PeriodInfo) -> tuple[str, bool]:
    """Where a file of ``period`` is billed: its own period while open, else the next open one
    (the late-file rule of HOT-W304). Returns (period id, late)."""
    if period.status == "open":
        return period.period_id, False
    later = [p for p in ref.periods_of(operation)
             if p.start_date > period.start_date and p.status == "open"]
    return (later[0].period_id, True) if later else (period.period_id, True)


def ingest_file(settings: Settings, engine: Engine, file_id: int,
                reference: ReferenceData | None = None) -> IngestResult:
    """Process one registered file end to end (idempotent; safe to retry)."""
    row = registry.get(engine, file_id)
    try:
        participant = by_id(engine, row.participant_id) if row.participant_id else None
    except UnknownParticipant:
        participant = None
    who = participant.code if participant else ""
    if row.state in registry.FINAL_STATES:
        return IngestResult(file_id, row.verdict or "", row.state, row.channel, who,
                            row.operation_code or "", row.period_id or "",
                            row.billed_period_id or "", bool(row.late),
                            acks=[row.ack_name or ""], already_done=True)
    ref = reference or load_reference(settings)
    sandbox = row.channel == "sandbox"
    fmt, batch = read_any_file(registry.blob_path(settings, row), row.sha256)
    operation = (batch.header.operation if batch else "") or (
        participant.operation if participant and participant.operation else "")
    ctx = ValidationContext(
        reference=ref, sender_kind=participant.kind if participant else "",
        sender_code=who, received_on=row.landed_at.date(), sha256=row.sha256,
        history=history_for(settings, engine, row, participant, operation.upper()))
    batch, verdict = validate_parsed(fmt, batch, row.sha256, ctx)

    period = ref.period(verdict.operation, verdict.period_id) if verdict.period_id else None
    billed_period, late = (billing_period(ref, verdict.operation, period)
                           if period else ("", False))
    stored: list[Path] = []
    if not sandbox and verdict.verdict != REJECTED and verdict.accepted_records.num_rows:
        if batch.header.family == "adjustment":
            stored = warehouse.store_adjustments(settings, verdict.operation, billed_period,
                                                 file_id, verdict.accepted_records)
        else:
            stored = warehouse.store(settings, verdict.operation, billed_period, file_id,
                                     _stamp_late(verdict.accepted_records, late),
                                     verdict.accepted_charges)

    info = {"name": row.original_name, "file_id": file_id, "size": row.size,
            "sha256": row.sha256, "received": ack.received_text(row.landed_at),
            "channel": row.channel, "sender": f"{participant.kind} {who} {participant.name}"
            if participant else "unknown", "family": batch.header.family,
            "operation": verdict.operation, "period": verdict.period_id}
    name = ack.ack_name(row.original_name, file_id)
    acks = []
    if participant:
        if batch.format in ("xml", "xfwb"):  # acknowledge in the sender's format
            name += ".xml"
            machine = ack.render_xml(info, verdict)
        else:
            machine = ack.render_fixed(info, verdict)
        acks = [deliver(settings, who, name, machine),
                deliver(settings, who, name.removesuffix(".xml") + ".txt",
                        ack.render_text(info, verdict))]
    state = "quarantined" if verdict.verdict == REJECTED else "archived"
    target = registry.finish(
        settings, engine, file_id, state, verdict=verdict.verdict, family=batch.header.family,
        operation_code=verdict.operation or None, period_id=verdict.period_id or None,
        billed_period_id=(billed_period if stored else None), late=late,
        file_number=batch.header.file_number, record_count=verdict.counts.get("records"),
        accepted_count=verdict.counts.get("accepted"), ack_name=name)
    summary = {"file_id": file_id, "verdict": verdict.verdict, "counts": verdict.counts,
               "operation": verdict.operation, "period": verdict.period_id,
               "billed_period": billed_period if stored else None, "late": late,
               "channel": row.channel, "findings": [f.as_dict() for f in verdict.findings]}
    atomic_write_bytes(target.with_name(f"{target.name}.f{file_id:06d}.verdict.json"),
                       json.dumps(summary, indent=1, default=str).encode())
    return IngestResult(file_id, verdict.verdict, state, row.channel, who, verdict.operation,
                        verdict.period_id, billed_period if stored else "", late,
                        verdict.counts, sorted(set(verdict.codes)), [str(a) for a in acks],
                        [str(p) for p in stored])


def _stamp_late(records, late: bool):
    """Mark the records of a late file with ``late_indicator`` L (the registry row says
    ``late`` too), filling only records that carry no late indicator of their own."""
    return records if not late else records.set_column(
        records.schema.get_field_index("late_indicator"), "late_indicator",
        pc.fill_null(records.column("late_indicator"), "L"))


def land_and_ingest(settings: Settings, engine: Engine, source: Path,
                    participant: ParticipantRef, sandbox: bool = False,
                    user_login: str | None = None) -> IngestResult:
    """``casslink ingest``: copy a file into the landing area, register it, ingest it."""
    file_id = registry.land_copy(settings, engine, source, participant.id, source.name,
                                 "sandbox" if sandbox else "cli", user_login)
    return ingest_file(settings, engine, file_id)
