"""The ingest path of one landed file: parse, validate, pin, store, acknowledge, archive or
quarantine, record.

``ingest_file`` is what the Airflow ingest DAG, the sweep and ``casslink ingest`` all run. An
attempt may die at any step (each step is a fault-injection point, ``CASSLINK_FAULT=
ingest:<step>``) and is simply run again; the file's registry row is the single source of
truth:

1. ``parsed``, ``validated`` - any exception here is the file's fault as far as the sender
   can tell: it ends in a rejection (``ING-E900``), never a stuck row;
2. ``pinned`` - where the file is billed is recorded before anything is stored; a retry keeps
   the pinned period, even after that period closed;
3. ``stored`` - the warehouse part is written under this attempt's own name;
4. ``acked`` - the acknowledgement, rendered from the file and its outcome only;
5. ``moved`` - the original to archive/ or quarantine/, with its verdict summary;
6. ``recorded`` - one transaction commits the outcome with the part's name. Settlement reads
   only parts so committed: a crashed attempt's part is never billed.

A file already recorded is not processed again; its recorded outcome is returned.
``validate_file`` is the same parse + rule engine without any storage (``casslink validate``;
``validate_bytes`` for bytes in memory).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.compute as pc
from sqlalchemy import Engine, or_, select

from casslink import i18n, period_totals, registry, warehouse
from casslink.canonical import BillingBatch, FileHeader, empty_charges, empty_records
from casslink.db.engine import session_scope
from casslink.db.models import LandedFile, Participant
from casslink.faults import checkpoint
from casslink.outbox import write_to_outbox
from casslink.parsers import SNIFF, detect_format, read_any, read_any_file
from casslink.participants import ParticipantRef, UnknownParticipant, by_id
from casslink.reference import PeriodInfo, ReferenceData, load_reference
from casslink.settings import Settings
from casslink.storage import atomic_write_bytes
from casslink.validators import ack
from casslink.validators.context import History, ValidationContext
from casslink.validators.engine import REJECTED, Finding, Verdict, finding, validate

log = logging.getLogger("casslink.ingest")

MAX_FILE_BYTES = int(os.environ.get("CASSLINK_MAX_FILE_BYTES", str(2 << 30)))
"""Files larger than this are rejected (``ING-E901``) before a byte of them is parsed."""


def parse(data: bytes, source_file: str) -> tuple[str, BillingBatch | None]:
    """Bytes -> (format, batch); batch None for a format we do not accept."""
    return read_any(data, source_file)


def validate_bytes(data: bytes, source_file: str, ctx: ValidationContext
                   ) -> tuple[BillingBatch, Verdict]:
    """Parse and validate bytes in any accepted format; never raises on bad input."""
    return guarded(lambda: validate_parsed(*parse(data, source_file), source_file, ctx),
                   source_file)


def validate_parsed(fmt: str, batch: BillingBatch | None, source_file: str,
                    ctx: ValidationContext) -> tuple[BillingBatch, Verdict]:
    """Validate what a parser returned (``batch`` None: a format we do not accept)."""
    if batch is None:
        return rejection(empty_batch(source_file, fmt), finding("FMT-E001", raw=fmt))
    return batch, validate(batch, ctx)


def empty_batch(source_file: str, fmt: str = "") -> BillingBatch:
    return BillingBatch(FileHeader(family=""), empty_records(), empty_charges(),
                        source_file=source_file, format=fmt)


def rejection(batch: BillingBatch, why: Finding, verdict: Verdict | None = None
              ) -> tuple[BillingBatch, Verdict]:
    """``verdict`` (or an empty one) turned into a rejection for ``why``: nothing accepted."""
    findings = [*(verdict.findings if verdict else []), why]
    n = batch.records.num_rows + batch.header.extra.get("dropped", 0)
    counts = {"records": n, "accepted": 0, "rejected": n, "charges": batch.charges.num_rows,
              "errors": sum(1 for f in findings if f.severity != "warning"),
              "warnings": sum(1 for f in findings if f.severity == "warning")}
    return batch, Verdict(REJECTED, findings, batch.records.slice(0, 0),
                          batch.charges.slice(0, 0),
                          operation=verdict.operation if verdict else "",
                          period_id=verdict.period_id if verdict else "", counts=counts)


def guarded(work, source_file: str, fmt: str = "") -> tuple[BillingBatch, Verdict]:
    """Run ``work()`` (parse and/or validate); an unexpected exception becomes a rejection
    ``ING-E900`` - the traceback goes to the log, never into the acknowledgement."""
    try:
        return work()
    except Exception:
        log.exception("internal error while reading %s", source_file)
        return rejection(empty_batch(source_file, fmt), finding("ING-E900"))


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
    name: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def history_for(settings: Settings, engine: Engine, sha256: str,
                participant: ParticipantRef | None, operation: str,
                file_id: int | None = None) -> History:
    """What this participant sent before (sandbox files never count; neither does this file,
    ``file_id``): only outcomes the registry recorded, never a crashed attempt's part."""
    hist = History()
    with session_scope(engine) as s:
        mine = [LandedFile.sha256 == sha256]
        if participant:
            mine.append(LandedFile.participant_id == participant.id)
        earlier = s.scalars(select(LandedFile).where(
            LandedFile.id != (file_id or 0), LandedFile.channel != "sandbox",
            LandedFile.state == "archived", or_(*mine))).all()
        for r in earlier:
            if r.sha256 == sha256:
                hist.sha256_seen.setdefault(r.sha256, r.id)
            if participant and r.participant_id == participant.id and r.verdict != REJECTED \
                    and r.channel != "dispute":  # casslink's DCMs take no file number
                hist.accepted_logical.add((participant.code, r.operation_code, r.period_id,
                                           r.file_number))
    if participant and participant.kind in ("airline", "gssa") and operation:
        files = [warehouse.part_path(settings, operation, a.period_id, a.part_name)
                 for a in registry.accepted_parts(engine, operation, exclude_file_id=file_id)]
        hist.billed = warehouse.read_parts(files, warehouse.Query(
            airline_prefix=participant.code, with_period=True))
    return hist


def billing_period(ref: ReferenceData, operation: str, period: PeriodInfo
                   ) -> tuple[str, bool] | None:
    """Where a file of ``period`` is billed: its own period while open, else the next open one
    (the late-file rule of HOT-W304). Returns (period id, late), or None when no period is
    open to bill it (the file is rejected, ``ING-E310``; never billed into a closed one)."""
    if period.status == "open":
        return period.period_id, False
    later = [p for p in ref.periods_of(operation)
             if p.start_date > period.start_date and p.status == "open"]
    return (later[0].period_id, True) if later else None


def apply_billing_period(ref: ReferenceData, batch: BillingBatch, verdict: Verdict,
                         pinned: LandedFile | None = None
                         ) -> tuple[BillingBatch, Verdict, str, bool]:
    """(batch, verdict, billed period, late): a file with records to bill and no open period
    to bill them in is rejected here. ``pinned``: the file's registry row, whose period an
    earlier attempt pinned for this operation and period is kept as it is."""
    period = ref.period(verdict.operation, verdict.period_id) if verdict.period_id else None
    if period is None or verdict.verdict == REJECTED:
        return batch, verdict, "", False
    if pinned is not None and pinned.pinned_at and pinned.billed_period_id and (
            pinned.operation_code, pinned.period_id) == (verdict.operation, verdict.period_id):
        return batch, verdict, pinned.billed_period_id, bool(pinned.late)
    where = billing_period(ref, verdict.operation, period)
    if where is None:
        batch, verdict = rejection(batch, finding("ING-E310", raw=period.period_id,
                                                  expected=period.status), verdict)
        return batch, verdict, "", False
    return batch, verdict, *where


@dataclass
class Attempt:
    """What one attempt at a file knows as it goes (the steps fill it in)."""

    settings: Settings
    engine: Engine
    row: LandedFile
    participant: ParticipantRef | None
    ref: ReferenceData
    batch: BillingBatch | None = None
    verdict: Verdict | None = None
    billed_period: str = ""
    late: bool = False
    attempt: int = 1
    stored: list[Path] = field(default_factory=list)
    acks: list[Path] = field(default_factory=list)
    ack_name: str = ""
    target: Path | None = None

    @property
    def who(self) -> str:
        return self.participant.code if self.participant else ""

    @property
    def file_id(self) -> int:
        return self.row.id


def ingest_file(settings: Settings, engine: Engine, file_id: int,
                reference: ReferenceData | None = None) -> IngestResult:
    """Process one registered file end to end (idempotent; safe to retry at any step)."""
    row = registry.get(engine, file_id)
    participant = _participant(engine, row)
    if row.state in registry.FINAL_STATES:
        return recorded_result(row, participant)
    if _dispute_csv(settings, engine, row, participant):  # the bulk dispute channel
        return recorded_result(registry.get(engine, file_id), participant)
    a = Attempt(settings, engine, row, participant, reference or load_reference(settings))
    read_and_validate(a)
    checkpoint("ingest", "validated")
    try:
        pin_period(a)
    except registry.AlreadyFinal:
        return recorded_result(registry.get(engine, file_id), participant)
    checkpoint("ingest", "pinned")
    store_parts(a)
    checkpoint("ingest", "stored")
    acknowledge(a)
    checkpoint("ingest", "acked")
    move_original(a)
    checkpoint("ingest", "moved")
    try:
        done = record(a)
    except registry.DuplicateBilled as twin:  # the same bytes were billed meanwhile
        log.warning("%s: attempting the file again, it is now a duplicate", twin)
        for part in a.stored:
            part.unlink(missing_ok=True)
        return ingest_file(settings, engine, file_id, a.ref)
    if not done:
        return recorded_result(registry.get(engine, file_id), participant)
    checkpoint("ingest", "recorded")
    _link_disputes(a)
    return result_of(a)


def _link_disputes(a: Attempt) -> None:
    """An airline's own CCA/DCM for a disputed AWB links to the dispute (docs/disputes.md)."""
    from casslink.app.disputes.lineage import link_airline_corrections

    if a.participant and a.row.channel not in ("dispute", "sandbox") and a.stored:
        link_airline_corrections(a.engine, a.file_id, a.participant.code,
                                 a.verdict.accepted_records)


def _dispute_csv(settings: Settings, engine: Engine, row: LandedFile,
                 participant: ParticipantRef | None) -> bool:
    """A CSV of disputes or decisions (told by its header) goes to casslink.app.disputes.bulk;
    True when it was one."""
    from casslink.app.disputes import bulk

    try:
        if bulk.sniff(registry.blob_path(settings, row)) is None:
            return False
    except FileNotFoundError:
        return False
    bulk.process(settings, engine, row, participant)
    return True


def _participant(engine: Engine, row: LandedFile) -> ParticipantRef | None:
    try:
        return by_id(engine, row.participant_id) if row.participant_id else None
    except UnknownParticipant:
        return None


def recorded_result(row: LandedFile, participant: ParticipantRef | None) -> IngestResult:
    """The outcome a finished file's registry row records."""
    return IngestResult(row.id, row.verdict or "", row.state, row.channel,
                        participant.code if participant else "", row.operation_code or "",
                        row.period_id or "", row.billed_period_id if row.part_name else "",
                        bool(row.late), acks=[row.ack_name] if row.ack_name else [],
                        already_done=True, name=row.original_name)


def read_and_validate(a: Attempt) -> None:
    """Steps ``parsed`` and ``validated``: never raises for what is in the file."""
    row, source = a.row, a.row.sha256
    if row.size > MAX_FILE_BYTES:
        a.batch, a.verdict = rejection(empty_batch(source), finding(
            "ING-E901", raw=row.size, expected=MAX_FILE_BYTES))
        return
    try:
        fmt, batch = read_file(registry.blob_path(a.settings, row), source)
    except FileNotFoundError:
        raise  # the bytes are gone: an operator's problem, not the sender's
    except Exception:
        log.exception("file %s: internal error while reading it", row.id)
        a.batch, a.verdict = rejection(empty_batch(source), finding("ING-E900"))
        return
    checkpoint("ingest", "parsed")
    p = a.participant
    operation = (batch.header.operation if batch else "") or (
        p.operation if p and p.operation else "")
    ctx = ValidationContext(
        reference=a.ref, sender_kind=p.kind if p else "", sender_code=a.who,
        received_on=row.landed_at.date(), sha256=source,
        history=history_for(a.settings, a.engine, source, p, operation.upper(), row.id))
    a.batch, a.verdict = guarded(lambda: validate_parsed(fmt, batch, source, ctx), source, fmt)
    a.batch, a.verdict, a.billed_period, a.late = apply_billing_period(a.ref, a.batch,
                                                                       a.verdict, row)


def read_file(path: Path, source_file: str) -> tuple[str, BillingBatch | None]:
    """Parse a file on disk; a format we do not read is told from its first bytes, never
    read whole (HOT files are parsed streaming; XML needs its bytes)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF)
    if detect_format(head) == "binary":
        return "binary", None
    return read_any_file(path, source_file)


def _to_store(a: Attempt) -> bool:
    return (a.row.channel != "sandbox" and a.verdict.verdict != REJECTED
            and a.verdict.accepted_records.num_rows > 0)


def pin_period(a: Attempt) -> None:
    """Step ``pinned``: where the file is billed, recorded before anything is stored (a retry
    reuses an earlier attempt's pin)."""
    v = a.verdict
    try:
        pinned = registry.pin(a.engine, a.file_id, v.operation, v.period_id,
                              a.billed_period if _to_store(a) else "", a.late)
    except registry.NoOpenPeriod:  # the period closed since the reference was read
        a.batch, a.verdict = rejection(a.batch, finding("ING-E310", raw=v.period_id,
                                                        expected="closed"), v)
        a.billed_period, a.late = "", False
        pinned = registry.pin(a.engine, a.file_id, v.operation, v.period_id, "", False)
    a.attempt = pinned.attempt
    if _to_store(a) and pinned.billed_period_id:
        if pinned.billed_period_id != a.billed_period:
            log.warning("file %s: billed in period %s as pinned (it was read as %s)",
                        a.file_id, pinned.billed_period_id, a.billed_period)
        a.billed_period, a.late = pinned.billed_period_id, pinned.late


def store_parts(a: Attempt) -> None:
    """Step ``stored``: this attempt's warehouse part (not billed until recorded)."""
    if not _to_store(a):
        return
    v = a.verdict
    if a.batch.header.family == "adjustment":
        a.stored = warehouse.store_adjustments(a.settings, v.operation, a.billed_period,
                                               a.file_id, v.accepted_records, a.attempt)
    else:
        a.stored = warehouse.store(a.settings, v.operation, a.billed_period, a.file_id,
                                   _stamp_late(v.accepted_records, a.late),
                                   v.accepted_charges, a.attempt)


def ack_info(a: Attempt) -> dict:
    row, p, v = a.row, a.participant, a.verdict
    return {"name": row.original_name, "file_id": row.id, "size": row.size,
            "sha256": row.sha256, "received": ack.received_text(row.landed_at),
            "channel": row.channel, "sender": f"{p.kind} {p.code} {p.name}" if p else "unknown",
            "family": a.batch.header.family, "operation": v.operation, "period": v.period_id,
            "late": a.late and bool(a.stored), "billed_period": a.billed_period if a.stored
            else ""}


def acknowledge(a: Attempt) -> None:
    """Step ``acked``: the machine-readable ack in the sender's format, and the text one."""
    xml = a.batch.format in ("xml", "xfwb")  # acknowledge in the sender's format
    a.ack_name = ack.ack_name(a.row.original_name, a.file_id, "xml" if xml else "fixed")
    if not a.participant:
        return
    info = ack_info(a)
    machine = ack.render_xml(info, a.verdict) if xml else ack.render_fixed(info, a.verdict)
    text_name = ack.ack_name(a.row.original_name, a.file_id, "text")
    text = ack.render_text(info, a.verdict, document_language(a.engine, a.participant.id))
    a.acks = [write_to_outbox(a.settings, a.who, a.ack_name, machine),
              write_to_outbox(a.settings, a.who, text_name, text)]


def document_language(engine: Engine, participant_id: int) -> str:
    """The language of a participant's documents (``participants.language``; English where
    none, or not one of casslink's languages)."""
    with session_scope(engine) as s:
        language = s.scalar(select(Participant.language).where(
            Participant.id == participant_id))
    return language if language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def _state(a: Attempt) -> str:
    return "quarantined" if a.verdict.verdict == REJECTED else "archived"


def move_original(a: Attempt) -> None:
    """Step ``moved``: the original to archive/ or quarantine/, its verdict summary beside."""
    a.target = registry.move_blob(a.settings, a.engine, a.row, _state(a))
    v = a.verdict
    summary = {"file_id": a.file_id, "verdict": v.verdict, "counts": v.counts,
               "operation": v.operation, "period": v.period_id,
               "billed_period": a.billed_period if a.stored else None,
               "late": a.late and bool(a.stored), "attempt": a.attempt,
               "channel": a.row.channel, "findings": [f.as_dict() for f in v.findings]}
    atomic_write_bytes(a.target.with_name(f"{a.target.name}.f{a.file_id:06d}.verdict.json"),
                       json.dumps(summary, indent=1, default=str).encode())


def record(a: Attempt) -> bool:
    """Step ``recorded``: the outcome and the part's name in one transaction. False when
    another attempt recorded first (this attempt's part is then removed, never read)."""
    v, b = a.verdict, a.batch
    totals = period_totals.of_records(v.accepted_records) if a.stored and \
        b.header.family != "adjustment" else []
    done = registry.record_outcome(
        a.engine, a.file_id, _state(a), a.target,
        a.stored[0].name if a.stored else None, attempt=a.attempt, totals=totals,
        verdict=v.verdict,
        family=b.header.family,
        operation_code=v.operation or None, period_id=v.period_id or None,
        billed_period_id=a.billed_period if a.stored else None, late=a.late and bool(a.stored),
        file_number=b.header.file_number, record_count=v.counts.get("records"),
        accepted_count=v.counts.get("accepted"), ack_name=a.ack_name)
    if not done:
        for part in a.stored:
            part.unlink(missing_ok=True)
    elif a.billed_period:  # parts of earlier, crashed attempts: never read, now removed
        warehouse.drop_uncommitted(a.settings, v.operation, a.billed_period, a.file_id,
                                   a.stored[0].name if a.stored else None)
        status = registry.period_status(a.engine, v.operation, a.billed_period)
        if a.stored and status == "billed":
            log.warning("file %s: committed into %s %s, billed since it was pinned - only a "
                        "re-bill of that period (settle --rebill) bills it", a.file_id,
                        v.operation, a.billed_period)
    return done


def result_of(a: Attempt) -> IngestResult:
    v = a.verdict
    return IngestResult(a.file_id, v.verdict, _state(a), a.row.channel, a.who, v.operation,
                        v.period_id, a.billed_period if a.stored else "",
                        a.late and bool(a.stored), v.counts, sorted(set(v.codes)),
                        [str(p) for p in a.acks], [str(p) for p in a.stored],
                        name=a.row.original_name)


def _stamp_late(records, late: bool):
    """Mark the records of a late file with ``late_indicator`` L (the registry row says
    ``late`` too), filling only records that carry no late indicator of their own."""
    return records if not late else records.set_column(
        records.schema.get_field_index("late_indicator"), "late_indicator",
        pc.fill_null(records.column("late_indicator"), "L"))


def land_and_ingest(settings: Settings, engine: Engine, source: Path,
                    participant: ParticipantRef, sandbox: bool = False,
                    user_login: str | None = None) -> IngestResult:
    """``casslink ingest``: copy a file into the landing area, register it, ingest it. The
    same bytes again while their first attempt is unfinished (a crash) resume that attempt."""
    file_id = registry.land_copy(settings, engine, source, participant.id, source.name,
                                 "sandbox" if sandbox else "cli", user_login)
    return ingest_file(settings, engine, file_id)


@dataclass
class Report:
    """What ``casslink validate`` found: the verdict, and whether history was consulted."""

    batch: BillingBatch
    verdict: Verdict
    sha256: str
    size: int
    history_checked: bool
    billed_period: str = ""
    late: bool = False


def validate_file(settings: Settings, path: Path, ctx: ValidationContext,
                  engine: Engine | None = None) -> Report:
    """``casslink validate``: the ingest rules on a file, nothing stored or sent. With
    ``engine`` (a data root's database) the history checks run too - duplicates of earlier
    files, AWBs billed before, the late-file rule against the calendar's state - reading
    only; without it they are skipped (``history_checked`` False)."""
    from casslink.participants import resolve
    from casslink.storage import sha256_of

    size, sha = path.stat().st_size, sha256_of(path)
    if size > MAX_FILE_BYTES:
        batch, verdict = rejection(empty_batch(sha), finding("ING-E901", raw=size,
                                                             expected=MAX_FILE_BYTES))
        return Report(batch, verdict, sha, size, engine is not None)
    ctx.sha256 = sha
    try:
        fmt, batch = read_file(path, sha)
    except Exception:
        log.exception("internal error while reading %s", path)
        b, v = rejection(empty_batch(sha), finding("ING-E900"))
        return Report(b, v, sha, size, engine is not None)
    if engine is not None:
        try:
            who = resolve(engine, ctx.sender_code) if ctx.sender_code else None
        except UnknownParticipant:
            who = None
        op = (ctx.operation or (batch.header.operation if batch else "") or "").upper()
        ctx.history = history_for(settings, engine, sha, who, op)
    batch, verdict = guarded(lambda: validate_parsed(fmt, batch, sha, ctx), sha, fmt)
    billed, late = "", False
    if engine is not None:
        batch, verdict, billed, late = apply_billing_period(ctx.reference, batch, verdict)
    return Report(batch, verdict, sha, size, engine is not None, billed, late)
