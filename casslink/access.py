"""Who may do what: companies, grants of participants with rights, API tokens, the audit log.

A user belongs to a company and holds grants: each a participant (an airline prefix or an
agent code, in one operation) with rights out of :data:`RIGHTS`. Operators (users of the
operator company, or of an ``operator`` participant) may do everything. Every portal and API
query asks :func:`can` (or :func:`require`) with the participant it touches.

API tokens are personal: the token is shown once, only its sha256 is stored, and its scopes
narrow the user's rights (never widen them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from casslink.db.models import AccessGrant, ApiToken, AuditEntry, Company, Participant, User

RIGHTS = ("view", "upload", "dispute", "finance", "admin")
"""Every right a grant can carry, in display order."""
TOKEN_PREFIX = "csl_"
LAST_USED_EVERY = dt.timedelta(minutes=1)
"""How stale a token's ``last_used_at`` may be (one write per token a minute, not per call)."""
COMPANY_KIND = {"airline": "airline", "gssa": "airline", "agent": "agent",
                "operator": "operator"}
"""The company kind of a participant kind."""


class Forbidden(PermissionError):
    """The user lacks the right for that participant (the portal answers 403 or 404)."""


@dataclass(frozen=True)
class Grant:
    """One participant a user may act for and the rights they hold there."""

    participant_id: int
    kind: str
    code: str
    operation: str | None
    rights: frozenset[str]


def parse_rights(text: str | Iterable[str]) -> frozenset[str]:
    """A set of rights from ``"view,upload"`` or an iterable; ValueError for an unknown one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    rights = frozenset(r.strip() for r in items if r.strip())
    unknown = rights - set(RIGHTS)
    if unknown:
        raise ValueError(f"unknown rights {sorted(unknown)}: use {', '.join(RIGHTS)}")
    return rights


def format_rights(rights: Iterable[str]) -> str:
    """Rights as stored: comma-separated in the order of RIGHTS."""
    have = set(rights)
    return ",".join(r for r in RIGHTS if r in have)


def grants_of(session: Session, user: User) -> list[Grant]:
    """The user's grants, ordered by operation then participant code."""
    rows = session.execute(
        select(AccessGrant.participant_id, Participant.kind, Participant.code,
               Participant.operation_code, AccessGrant.rights)
        .join(Participant, Participant.id == AccessGrant.participant_id)
        .where(AccessGrant.user_id == user.id)).all()
    out = [Grant(pid, kind, code, op, parse_rights(rights))
           for pid, kind, code, op, rights in rows]
    return sorted(out, key=lambda g: (g.operation or "", g.kind, g.code))


def is_operator(session: Session, user: User) -> bool:
    """Whether the user is CASS staff: of the operator company or an operator participant."""
    kinds = session.execute(select(
        select(Company.kind).where(Company.id == user.company_id).scalar_subquery(),
        select(Participant.kind).where(Participant.id == user.participant_id)
        .scalar_subquery())).one()  # one round trip: every request asks
    return "operator" in kinds


def user_and_operator(session: Session, user_id: int) -> tuple[User | None, bool]:
    """The user of ``user_id`` (None if there is none) and :func:`is_operator` of it, in one
    query (the portal asks both on every request)."""
    got = session.execute(
        select(User, Company.kind, Participant.kind)
        .outerjoin(Company, Company.id == User.company_id)
        .outerjoin(Participant, Participant.id == User.participant_id)
        .where(User.id == user_id)).first()
    return (None, False) if got is None else (got[0], "operator" in (got[1], got[2]))


def can(session: Session, user: User, right: str, *, participant_code: str,
        operation: str | None = None) -> bool:
    """Whether ``user`` holds ``right`` for the participant ``participant_code`` (in
    ``operation`` when given; an airline's grant, which names no operation, covers all of
    its operations). A disabled user can do nothing; an operator everything."""
    if right not in RIGHTS:
        raise ValueError(f"unknown right {right!r}")
    if user.disabled:
        return False
    if is_operator(session, user):
        return True
    return any(g.code == participant_code and right in g.rights
               and (operation is None or g.operation is None or g.operation == operation)
               for g in grants_of(session, user))


def require(session: Session, user: User, right: str, *, participant_code: str,
            operation: str | None = None) -> None:
    """:func:`can`, or :class:`Forbidden`."""
    if not can(session, user, right, participant_code=participant_code, operation=operation):
        raise Forbidden(f"{user.login} may not {right} for {participant_code}")


def set_grant(session: Session, user: User, participant_id: int,
              rights: Iterable[str]) -> None:
    """Give ``user`` exactly ``rights`` on the participant (no rights: revoke the grant)."""
    wanted = parse_rights(list(rights))
    row = session.scalars(select(AccessGrant).where(
        AccessGrant.user_id == user.id, AccessGrant.participant_id == participant_id)).first()
    if not wanted:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(AccessGrant(user_id=user.id, participant_id=participant_id,
                                rights=format_rights(wanted)))
    else:
        row.rights = format_rights(wanted)
    session.flush()


def company_for_participant(session: Session, participant: Participant) -> Company:
    """The company of a participant's existing users, or a new one named after it."""
    company_id = session.scalar(select(User.company_id).where(
        User.participant_id == participant.id, User.company_id.is_not(None))
        .order_by(User.id).limit(1))
    if company_id is not None:
        company = session.get(Company, company_id)
        assert company is not None
        return company
    company = Company(name=participant.name,
                      kind=COMPANY_KIND.get(participant.kind, "agent"))
    session.add(company)
    session.flush()
    return company


def audit(session: Session, actor_login: str, action: str, target: str, detail: dict,
          company_id: int | None = None) -> None:
    """Append one entry to the audit log (in the caller's transaction). ``detail`` must not
    hold secrets: it is shown to company admins and operators."""
    session.add(AuditEntry(at=dt.datetime.now(dt.UTC), actor_login=actor_login,
                           company_id=company_id, action=action, target=target[:200],
                           detail=json.dumps(detail, sort_keys=True, default=str)))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, scopes: Iterable[str], name: str) -> str:
    """A new personal API token of ``user`` with ``scopes`` (a subset of RIGHTS). Returns the
    token itself, which is not stored and cannot be shown again."""
    wanted = parse_rights(list(scopes))
    if not wanted:
        raise ValueError("a token needs at least one scope")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name[:100] or "token",
                         token_sha256=token_digest(token), scopes=format_rights(wanted),
                         created_at=dt.datetime.now(dt.UTC)))
    session.flush()
    return token


def token_row(session: Session, token: str) -> ApiToken | None:
    """The live (not revoked) token row of ``token``, its last use recorded (to the
    minute); else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalars(select(ApiToken).where(
        ApiToken.token_sha256 == token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = dt.datetime.now(dt.UTC)
    last = row.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite hands back naive UTC
        last = last.replace(tzinfo=dt.UTC)
    if last is None or now - last >= LAST_USED_EVERY:  # a write at most once a minute
        row.last_used_at = now
    return row


def user_for_token(session: Session, token: str) -> User | None:
    """The enabled user of a live token, or None."""
    row = token_row(session, token)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return None if user is None or user.disabled else user


def revoke_token(session: Session, user: User, token_id: int) -> bool:
    """Revoke one of ``user``'s own tokens; False when it is not theirs or already revoked."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    row.revoked_at = dt.datetime.now(dt.UTC)
    return True
