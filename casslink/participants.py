"""Resolve a participant from any of the codes people use for it, and lay out its SFTP home.

Airlines: 3-digit prefix (``020``) or 2-character designator (``LH``); agents: the 11-digit CASS
code; operators: their login-like code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, or_, select

from casslink.db.engine import session_scope
from casslink.db.models import Participant
from casslink.outbox import home_of
from casslink.settings import Settings


class UnknownParticipant(LookupError):
    pass


@dataclass(frozen=True)
class ParticipantRef:
    id: int
    kind: str
    code: str
    name: str
    operation: str | None = None

    def home(self, settings: Settings) -> Path:
        return settings.homes_dir / self.code


def resolve(engine: Engine, code: str) -> ParticipantRef:
    code = code.strip()
    with session_scope(engine) as s:
        row = s.scalars(select(Participant).where(or_(
            Participant.code == code, Participant.airline_designator == code.upper(),
            Participant.agent_code == code)).order_by(Participant.id)).first()
        if row is None:
            raise UnknownParticipant(f"no airline, agent or operator with code {code!r}")
        return ParticipantRef(row.id, row.kind, row.code, row.name, row.operation_code)


def by_id(engine: Engine, participant_id: int) -> ParticipantRef:
    with session_scope(engine) as s:
        row = s.get(Participant, participant_id)
        if row is None:
            raise UnknownParticipant(f"no participant with id {participant_id}")
        return ParticipantRef(row.id, row.kind, row.code, row.name, row.operation_code)


def ensure_home(settings: Settings, participant: ParticipantRef) -> Path:
    return home_of(settings, participant.code)
