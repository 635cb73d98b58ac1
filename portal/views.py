"""Read models shared by the portal's routes: a participant's row by code, a user's visible
participants, and the files they may see - each query filtered by the user's grants."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from casslink.db.models import LandedFile, Participant
from casslink.portal.deps import Principal


def participant(s: DbSession, code: str) -> Participant | None:
    return s.scalars(select(Participant).where(Participant.code == code)
                     .order_by(Participant.id)).first()


def participants(s: DbSession, codes: set[str]) -> dict[str, Participant]:
    """:func:`participant` of each of ``codes`` (those that exist), in one query."""
    out: dict[str, Participant] = {}
    for row in s.scalars(select(Participant).where(Participant.code.in_(codes))
                         .order_by(Participant.id)):
        out.setdefault(row.code, row)
    return out


def visible_participant_ids(s: DbSession, p: Principal, right: str = "view") -> list[int] | None:
    """The ids of the participants ``p`` holds ``right`` for; None: every one (operator)."""
    if p.operator:
        return None
    return sorted({g.participant_id for g in p.grants if p.can(right, g.code, g.operation)})


def file_dict(row: LandedFile, code: str) -> dict:
    return {"id": row.id, "name": row.original_name, "participant": code,
            "channel": row.channel, "size": row.size, "sha256": row.sha256,
            "landed_at": row.landed_at.isoformat() if row.landed_at else None,
            "state": row.state, "verdict": row.verdict, "family": row.family,
            "operation": row.operation_code, "period": row.period_id,
            "billed_period": row.billed_period_id, "late": row.late,
            "records": row.record_count, "accepted": row.accepted_count,
            "ack": f"/api/v1/files/{row.id}/ack" if row.ack_name else None,
            "processed_at": row.processed_at.isoformat() if row.processed_at else None}


def files_of(s: DbSession, p: Principal, participant_code: str | None,
             limit: int = 200) -> list[dict]:
    """The newest files of the participant (or of every participant the user may view)."""
    q = select(LandedFile, Participant.code).join(
        Participant, Participant.id == LandedFile.participant_id)
    if participant_code is not None:
        q = q.where(Participant.code == participant_code)
    else:
        ids = visible_participant_ids(s, p)
        if ids is not None:
            q = q.where(LandedFile.participant_id.in_(ids))
    rows = s.execute(q.order_by(LandedFile.id.desc()).limit(limit)).all()
    return [file_dict(row, code) for row, code in rows]


def file_for(s: DbSession, p: Principal, file_id: int) -> tuple[LandedFile, str] | None:
    """A file the user may view (None for another participant's: answered as not found)."""
    got = s.execute(select(LandedFile, Participant.code).join(
        Participant, Participant.id == LandedFile.participant_id)
        .where(LandedFile.id == file_id)).first()
    if got is None or not p.can("view", got[1]):
        return None
    return got[0], got[1]
