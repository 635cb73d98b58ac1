"""The file registry: every landed file, content-addressed, and where it ended up.

It is the single source of truth of what is billed. States: ``landed`` (in the landing area,
not yet processed) -> ``archived`` (accepted, fully or partly) or ``quarantined`` (rejected).
A landed blob lives at ``landing/<sha256>``; processing moves it to ``archive/<sha256>`` or
``quarantine/<sha256>`` (never deletes it).

An ingest attempt first *pins* the file's billed period (:func:`pin`, before anything is
stored), then writes its warehouse part under a name of its own, and commits the outcome with
the part's name in one transaction (:func:`record_outcome`). Settlement reads only the parts
named by archived rows (:func:`accepted_parts`): a part of a crashed attempt is never read.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, update

from casslink import period_totals
from casslink.db.engine import session_scope
from casslink.db.models import BillingPeriod, LandedFile
from casslink.faults import checkpoint
from casslink.settings import Settings
from casslink.storage import atomic_write_stream, copy_hashed, sha256_of

FINAL_STATES = ("archived", "quarantined")


def landing_path(settings: Settings, sha256: str) -> Path:
    return settings.landing_dir / sha256


def land_copy(settings: Settings, engine: Engine, source: Path, participant_id: int | None,
              original_name: str, channel: str, user_login: str | None = None) -> int:
    """Copy a file into the landing area and register it (used by ``casslink ingest``).

    The same bytes from the same participant and channel still ``landed`` are the retry of an
    ingest that crashed: their row is returned (the first attempt resumes), no new one made.
    """
    settings.ensure_dirs()
    sha = sha256_of(source)
    with session_scope(engine) as s:
        waiting = s.scalars(select(LandedFile.id).where(
            LandedFile.sha256 == sha, LandedFile.participant_id == participant_id,
            LandedFile.channel == channel, LandedFile.state == "landed")
            .order_by(LandedFile.id)).first()
    target = landing_path(settings, sha)
    size = source.stat().st_size
    if not target.exists():
        got: dict = {}
        atomic_write_stream(target, lambda fh: got.update(zip(
            ("sha256", "size"), copy_hashed(source, fh), strict=True)), sync_dir=True)
        sha_copied, size = got["sha256"], got["size"]
        if sha_copied != sha:  # the source changed while it was copied
            target.unlink()
            raise RuntimeError(f"{source} changed while it was being landed")
    checkpoint("land", "copied")
    if waiting is not None:
        return waiting
    return register(engine, sha, size, participant_id, original_name, channel,
                    user_login, str(target))


def register(engine: Engine, sha256: str, size: int, participant_id: int | None,
             original_name: str, channel: str, user_login: str | None, stored_path: str) -> int:
    with session_scope(engine) as s:
        row = LandedFile(sha256=sha256, size=size, participant_id=participant_id,
                         original_name=original_name, channel=channel, user_login=user_login,
                         stored_path=stored_path, state="landed")
        s.add(row)
        s.flush()
        return row.id


def blob_path(settings: Settings, row: LandedFile) -> Path:
    """Where the file's bytes are now (a retried step may find them already moved)."""
    for candidate in (Path(row.stored_path), settings.archive_dir / row.sha256,
                      settings.quarantine_dir / row.sha256, landing_path(settings, row.sha256)):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the bytes of file {row.id} ({row.sha256}) are missing")


def get(engine: Engine, file_id: int) -> LandedFile:
    with session_scope(engine) as s:
        row = s.get(LandedFile, file_id)
        if row is None:
            raise LookupError(f"no file with id {file_id}")
        s.expunge(row)
        return row


def rows(engine: Engine, participant_id: int | None = None) -> list[LandedFile]:
    with session_scope(engine) as s:
        q = select(LandedFile).order_by(LandedFile.id)
        if participant_id is not None:
            q = q.where(LandedFile.participant_id == participant_id)
        out = list(s.scalars(q))
        for r in out:
            s.expunge(r)
        return out


def pending(engine: Engine) -> list[int]:
    """Ids of files landed but not yet processed (for the sweep)."""
    with session_scope(engine) as s:
        return list(s.scalars(select(LandedFile.id).where(LandedFile.state == "landed")
                              .order_by(LandedFile.id)))


@dataclass(frozen=True)
class Pin:
    """Where an attempt bills the file, and which attempt it is (names its part)."""

    billed_period_id: str
    late: bool
    attempt: int


def pin(engine: Engine, file_id: int, operation: str, period_id: str, billed_period_id: str,
        late: bool) -> Pin:
    """Start an attempt: record where the file is billed unless an earlier attempt did (a
    retry after the period closed keeps the pinned period, never moves to the next one)."""
    with session_scope(engine) as s:
        # Write first: on SQLite (where FOR UPDATE is a no-op) this takes the database's write
        # lock, so the period status read below and a settlement closing that period are
        # serialized; on PostgreSQL _still_open locks the period's row. Keep this order.
        s.execute(update(LandedFile).where(LandedFile.id == file_id)
                  .values(attempts=LandedFile.attempts + 1))
        row = s.get(LandedFile, file_id, populate_existing=True)
        if row.state in FINAL_STATES:
            raise AlreadyFinal(file_id)
        same_file = (row.operation_code, row.period_id) == (operation or None, period_id or None)
        if row.pinned_at is None or not same_file or not row.billed_period_id:
            if billed_period_id:
                billed_period_id, late = _still_open(s, operation, billed_period_id, late)
            row.operation_code, row.period_id = operation or None, period_id or None
            row.billed_period_id, row.late = billed_period_id or None, late
            row.pinned_at = dt.datetime.now(dt.UTC)
        return Pin(row.billed_period_id or "", bool(row.late), row.attempts)


def _still_open(s, operation: str, period_id: str, late: bool) -> tuple[str, bool]:
    """``period_id`` if it is still open, read under a lock of its row in the pinning
    transaction (a settlement closing it waits for this pin, or this pin for the closing);
    else the next open period, late. Raises :class:`NoOpenPeriod` when there is none."""
    periods = select(BillingPeriod).where(BillingPeriod.operation_code == operation)
    row = s.scalars(periods.where(BillingPeriod.period_id == period_id).with_for_update()).first()
    if row is None or row.status == "open":
        return period_id, late
    later = s.scalars(periods.where(BillingPeriod.start_date > row.start_date,
                                    BillingPeriod.status == "open")
                      .order_by(BillingPeriod.start_date).limit(1).with_for_update()).first()
    if later is None:
        raise NoOpenPeriod(operation, period_id)
    return later.period_id, True


def in_flight(engine: Engine, operation: str, period_id: str) -> list[int]:
    """Files pinned to be billed in the period whose outcome is not recorded yet."""
    with session_scope(engine) as s:
        return list(s.scalars(select(LandedFile.id).where(
            LandedFile.operation_code == operation, LandedFile.billed_period_id == period_id,
            LandedFile.pinned_at.is_not(None), LandedFile.state.not_in(FINAL_STATES))))


class AlreadyFinal(RuntimeError):
    """Another attempt recorded the file's outcome first."""


class NoOpenPeriod(LookupError):
    """The period a file would be billed in closed, and no later period is open."""


def move_blob(settings: Settings, engine: Engine, row: LandedFile, state: str) -> Path:
    """Move the file's bytes to archive/ or quarantine/ (idempotent); returns where they are.
    Bytes another landed row still waits for stay in landing (that row moves them later)."""
    folder = settings.archive_dir if state == "archived" else settings.quarantine_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / row.sha256
    try:
        source = blob_path(settings, row)
    except FileNotFoundError:
        return target
    if source == target:
        return target
    if not target.exists():
        if source.parent == settings.landing_dir:
            os.replace(source, target)  # rows still waiting find the bytes there (blob_path)
        else:  # another file's kept original (archive or quarantine): it stays there
            atomic_write_stream(target, lambda fh: copy_hashed(source, fh))
    elif source.parent == settings.landing_dir and not _others_waiting(engine, row):
        source.unlink()  # identical content already kept at target
    return target


def _others_waiting(engine: Engine, row: LandedFile) -> bool:
    with session_scope(engine) as s:
        return s.scalars(select(LandedFile.id).where(
            LandedFile.sha256 == row.sha256, LandedFile.state == "landed",
            LandedFile.id != row.id).limit(1)).first() is not None


class DuplicateBilled(RuntimeError):
    """Another file with the same bytes was committed as billed while this one was being
    processed (two uploads of one file at once): this outcome is not committed, and the
    file's next attempt sees the twin in its history (``E601``)."""


def record_outcome(engine: Engine, file_id: int, state: str, stored_path: Path,
                   part_name: str | None, attempt: int | None = None,
                   totals: Sequence[dict] = (), **outcome) -> bool:
    """Commit the file's outcome: state, where its bytes are, and the warehouse part it
    bills (None: nothing billed) - one transaction, and only if no attempt did it first and
    (``attempt``) no later attempt has pinned the file since: the latest pin holds.
    ``totals`` (``casslink.period_totals.of_records`` of the billed records) are added to
    the billed period's totals in that same transaction.
    Returns False when another attempt had already recorded an outcome, or took over.

    An outcome that bills a part commits only while no other non-sandbox file with the same
    bytes is billed (else :class:`DuplicateBilled`, rolled back): the outcomes of files with
    the same bytes are serialized - on PostgreSQL by locking their rows in id order first, on
    SQLite by the update being the transaction's first statement (it takes the write lock)."""
    with session_scope(engine) as s:
        billing = part_name is not None
        sha = None
        if billing and s.get_bind().dialect.name == "postgresql":
            sha = _sha_of(s, file_id)
            s.execute(select(LandedFile.id).where(LandedFile.sha256 == sha)
                      .order_by(LandedFile.id).with_for_update())
        mine = [LandedFile.attempts == attempt] if attempt is not None else []
        done = s.execute(update(LandedFile).where(
            LandedFile.id == file_id, LandedFile.state == "landed", *mine).values(
            state=state, stored_path=str(stored_path), part_name=part_name,
            processed_at=dt.datetime.now(dt.UTC), **outcome))
        if done.rowcount == 1 and billing:
            twin = s.scalars(select(LandedFile.id).where(
                LandedFile.sha256 == (sha or _sha_of(s, file_id)), LandedFile.id != file_id,
                LandedFile.state == "archived", LandedFile.channel != "sandbox",
                LandedFile.part_name.is_not(None)).limit(1)).first()
            if twin is not None:
                raise DuplicateBilled(f"file {file_id}: the same bytes were billed as file "
                                      f"{twin} meanwhile")
        if done.rowcount == 1 and totals and part_name:
            period_totals.add(s, outcome["operation_code"], outcome["billed_period_id"], totals)
        return done.rowcount == 1


def _sha_of(s, file_id: int) -> str:
    return s.scalars(select(LandedFile.sha256).where(LandedFile.id == file_id)).one()


def period_status(engine: Engine, operation: str, period_id: str) -> str:
    """The calendar's status of a period now (open, closed, billed; '' if unknown)."""
    from casslink.db.models import BillingPeriod

    with session_scope(engine) as s:
        return s.scalars(select(BillingPeriod.status).where(
            BillingPeriod.operation_code == operation,
            BillingPeriod.period_id == period_id)).first() or ""


@dataclass(frozen=True)
class AcceptedPart:
    """A warehouse part that an archived file's outcome committed."""

    file_id: int
    sha256: str
    name: str
    period_id: str
    part_name: str


def accepted_parts(engine: Engine, operation: str, period_id: str | None = None,
                   family: str = "billing", participant_id: int | None = None,
                   exclude_file_id: int | None = None) -> list[AcceptedPart]:
    """The parts settlement may read: those of archived, non-sandbox files of ``operation``
    (billed in ``period_id``, or any period), in file id order."""
    q = select(LandedFile).where(
        LandedFile.state == "archived", LandedFile.channel != "sandbox",
        LandedFile.operation_code == operation, LandedFile.family == family,
        LandedFile.part_name.is_not(None), LandedFile.billed_period_id.is_not(None))
    if period_id is not None:
        q = q.where(LandedFile.billed_period_id == period_id)
    if participant_id is not None:
        q = q.where(LandedFile.participant_id == participant_id)
    if exclude_file_id is not None:
        q = q.where(LandedFile.id != exclude_file_id)
    with session_scope(engine) as s:
        return [AcceptedPart(r.id, r.sha256, r.original_name, r.billed_period_id, r.part_name)
                for r in s.scalars(q.order_by(LandedFile.id))]


def record_stored(engine: Engine, sha256: str, name: str, operation: str,
                  period_id: str) -> int:
    """Register a part stored outside ingest (tests, benchmarks, data repairs) as one
    archived file, so settlement reads it: store it afterwards as ``warehouse.store(...,
    file_id)``. Returns the file id."""
    from casslink.warehouse import part_name

    with session_scope(engine) as s:
        row = LandedFile(sha256=sha256, size=0, original_name=name, channel="cli",
                         stored_path="", state="archived", verdict="accepted",
                         family="billing", operation_code=operation, period_id=period_id,
                         billed_period_id=period_id, late=False,
                         processed_at=dt.datetime.now(dt.UTC))
        s.add(row)
        s.flush()
        row.part_name = part_name(row.id)
        return row.id


def accepted_records(settings: Settings, engine: Engine, operation: str,
                     period_id: str | None = None, **query):
    """The rows billing sees: those of the parts :func:`accepted_parts` lists (``query``:
    the fields of :class:`casslink.warehouse.Query`)."""
    from casslink import warehouse

    q = warehouse.Query(**query)
    files = [warehouse.part_path(settings, operation, a.period_id, a.part_name, q.kind)
             for a in accepted_parts(engine, operation, period_id)]
    return warehouse.read_parts(files, q)
