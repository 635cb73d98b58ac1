"""The bulk channel: a CSV of disputes (agents) or of decisions (airlines) dropped over SFTP
into ``inbox/``, recognised by its header line, each line validated and done through the
same use cases as the portal, and acknowledged like any file (``<name>.f<id>.ack.csv`` in
the sender's outbox: line, outcome, dispute, message).

Headers (exactly, first line)::

    agent,airline,awb,reason,amount,text          -> raise one dispute per line
    dispute,decision,amount,text                  -> decide (decision accept|reject)

Who acts: the SFTP user who sent the file (their rights are checked); every line must also
concern the sending participant (a raise for its own agent code, a decision on a dispute of
its own airline). A retry after a crash does not raise twice: a raised line's dispute
carries ``file:<id>:<line>``; a decision already taken is reported as done. The same bytes
sent again by the same participant are refused line by line (as HOT-E601 refuses a
duplicate billing file).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import Engine, select

from casslink import access, registry
from casslink.db.engine import session_scope
from casslink.db.models import Dispute, LandedFile
from casslink.faults import checkpoint
from casslink.outbox import write_to_outbox
from casslink.participants import ParticipantRef
from casslink.settings import Settings
from casslink.storage import atomic_write_bytes

from . import service, states

RAISE_HEADER = ("agent", "airline", "awb", "reason", "amount", "text")
DECIDE_HEADER = ("dispute", "decision", "amount", "text")
HEADERS = {",".join(RAISE_HEADER).encode(): "raise", ",".join(DECIDE_HEADER).encode(): "decide"}
MAX_LINES = 10_000


def today():
    """The calendar day the deadlines use (None: today); tests pin it."""
    return None


def kind_of(head: bytes) -> str | None:
    """``raise`` or ``decide`` when ``head`` (a file's first bytes) is a dispute CSV."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r").strip().lower()
    return HEADERS.get(first)


def sniff(path: Path) -> str | None:
    with open(path, "rb") as fh:
        return kind_of(fh.read(256))


def _actor(engine: Engine, row: LandedFile) -> service.Actor | None:
    if not row.user_login:
        return None
    try:
        return service.actor_for(engine, row.user_login)
    except service.DisputeError:
        return None


def _raise(settings, engine, actor, who: ParticipantRef, fields: dict, source: str) -> int:
    if fields["agent"] != who.code:
        raise access.Forbidden(f"{who.code} may raise disputes only for itself")
    with session_scope(engine) as s:
        done = s.scalars(select(Dispute.id).where(Dispute.source == source)).first()
    if done is not None:
        return done
    return service.raise_dispute(
        settings, engine, actor, agent=fields["agent"], airline=fields["airline"],
        awb=fields["awb"], reason=fields["reason"], amount=fields["amount"] or None,
        text=fields["text"], source=source, today=today())


def _decide(settings, engine, actor, who: ParticipantRef, fields: dict) -> int:
    dispute_id = int(fields["dispute"])
    with session_scope(engine) as s:
        d = s.get(Dispute, dispute_id)
        if d is None or d.airline_prefix != who.code:
            raise service.NotFound(f"no dispute {dispute_id}")
        status = d.status
    decision = fields["decision"].strip().lower()
    if decision not in ("accept", "reject"):
        raise service.DisputeError("decision must be accept or reject")
    already = {"accept": (states.ACCEPTED, states.PARTLY_ACCEPTED, states.ADJUSTED),
               "reject": (states.REJECTED,)}[decision]
    if status in already:
        return dispute_id  # done by an earlier attempt at this file
    service.decide(settings, engine, actor, dispute_id, accept=decision == "accept",
                   amount=fields["amount"] or None, text=fields["text"], today=today())
    return dispute_id


def process(settings: Settings, engine: Engine, row: LandedFile,
            who: ParticipantRef | None) -> dict:
    """Do the file's lines; record its outcome and acknowledge it. Returns a summary."""
    path = registry.blob_path(settings, row)
    kind = sniff(path)
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    lines = list(csv.DictReader(io.StringIO(text)))[:MAX_LINES]
    actor = _actor(engine, row)
    with session_scope(engine) as s:  # the same bytes again from the same sender: refused
        earlier = s.scalars(select(LandedFile.id).where(
            LandedFile.sha256 == row.sha256, LandedFile.participant_id == row.participant_id,
            LandedFile.id != row.id, LandedFile.state == "archived")).first()
    results = []
    for n, fields in enumerate(lines, start=2):
        fields = {k: (v or "").strip() for k, v in fields.items() if k}
        try:
            if earlier is not None:
                raise service.DisputeError(f"the same file was received before (file "
                                           f"{earlier})")
            if who is None or actor is None:
                raise access.Forbidden("the file has no sending user with rights")
            dispute_id = (_raise(settings, engine, actor, who, fields, f"file:{row.id}:{n}")
                          if kind == "raise" else _decide(settings, engine, actor, who, fields))
            results.append((n, "done", dispute_id, ""))
        except (service.DisputeError, service.NotFound, states.IllegalTransition,
                PermissionError, ValueError, KeyError) as exc:
            results.append((n, "refused", "", str(exc)))
        checkpoint("disputes-csv", "line")
    ok = sum(1 for r in results if r[1] == "done")
    verdict = "accepted" if ok == len(results) and results else (
        "partial" if ok else "rejected")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(("line", "outcome", "dispute", "message"))
    w.writerows(results)
    ack_name = f"{row.original_name}.f{row.id:06d}.ack.csv"
    if who is not None:
        write_to_outbox(settings, who.code, ack_name, buf.getvalue().encode())
    state = "archived" if ok else "quarantined"
    target = registry.move_blob(settings, engine, row, state)
    summary = {"file_id": row.id, "kind": kind, "lines": len(results), "done": ok,
               "verdict": verdict}
    atomic_write_bytes(target.with_name(f"{target.name}.f{row.id:06d}.verdict.json"),
                       json.dumps(summary, indent=1).encode())
    registry.record_outcome(engine, row.id, state, target, None, verdict=verdict,
                            family="disputes", record_count=len(results), accepted_count=ok,
                            ack_name=ack_name)
    return summary
