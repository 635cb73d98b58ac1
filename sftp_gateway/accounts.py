"""SFTP accounts: users of a participant with an argon2 password hash and/or public keys.

Passwords are never stored or logged in clear; ``verify_password`` is constant-time (argon2).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncssh
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select

from casslink import access
from casslink.db.engine import session_scope
from casslink.db.models import Participant, User
from casslink.login_policy import InvalidLogin, canonical_login
from casslink.participants import ParticipantRef, by_id

ROLES = ("admin", "user")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("casslink-dummy-password")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Account:
    login: str
    role: str
    participant: ParticipantRef
    disabled: bool
    has_password: bool
    key_count: int


def _check_login(login: str) -> str:
    """The canonical login (``casslink.login_policy.canonical_login``, which the lockout
    counts by too), or AccountError."""
    try:
        return canonical_login(login)
    except InvalidLogin as exc:
        raise AccountError(str(exc)) from exc


def parse_public_keys(text: str) -> list[str]:
    """Validate OpenSSH public key lines; returns them normalised (``type base64 [comment]``)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = asyncssh.import_public_key(line)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise AccountError(f"not an OpenSSH public key: {line[:40]}...") from exc
        out.append(key.export_public_key("openssh").decode().strip())
    if not out:
        raise AccountError("no public key found")
    return out


def add_user(engine: Engine, login: str, participant: ParticipantRef, role: str = "user",
             password: str | None = None, public_keys: str = "",
             company_id: int | None = None,
             rights: frozenset[str] | None = None) -> Account:
    """Create a user of ``participant``. The user joins ``company_id`` (default: the
    company of the participant's other users, or a new one) and is granted the participant:
    with ``rights`` when given, else every right for an admin or the participant's first
    user and every right but ``admin`` for the others."""
    login = _check_login(login)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    keys = parse_public_keys(public_keys) if public_keys.strip() else []
    if password is not None and len(password) < 12:
        raise AccountError("a password has at least 12 characters")
    with session_scope(engine) as s:
        if s.scalars(select(User).where(User.login == login)).first():
            raise AccountError(f"login {login!r} exists")
        prow = s.get(Participant, participant.id)
        if prow is None:
            raise AccountError(f"no participant with id {participant.id}")
        first = s.scalars(select(User.id).where(User.participant_id == prow.id)).first() is None
        company = company_id or access.company_for_participant(s, prow).id
        user = User(login=login, participant_id=participant.id, role=role,
                    password_hash=_hasher.hash(password) if password else None,
                    public_keys="\n".join(keys), company_id=company)
        s.add(user)
        s.flush()
        if rights is None:
            rights = frozenset(access.RIGHTS) if role == "admin" or first else \
                frozenset(access.RIGHTS) - {"admin"}
        access.set_grant(s, user, prow.id, rights)
    return get(engine, login)


def hash_password(password: str) -> str:
    """The argon2 hash of a new password (12+ characters, else AccountError)."""
    if len(password) < 12:
        raise AccountError("a password has at least 12 characters")
    return _hasher.hash(password)


def set_password(engine: Engine, login: str, password: str) -> None:
    if len(password) < 12:
        raise AccountError("a password has at least 12 characters")
    with session_scope(engine) as s:
        _row(s, login).password_hash = _hasher.hash(password)


def add_key(engine: Engine, login: str, public_keys: str) -> int:
    keys = parse_public_keys(public_keys)
    with session_scope(engine) as s:
        row = _row(s, login)
        current = [k for k in row.public_keys.splitlines() if k.strip()]
        for k in keys:
            if k not in current:
                current.append(k)
        row.public_keys = "\n".join(current)
        return len(current)


def disable(engine: Engine, login: str) -> None:
    with session_scope(engine) as s:
        _row(s, login).disabled = True


def _row(s, login: str) -> User:
    row = s.scalars(select(User).where(User.login == _check_login(login))).first()
    if row is None:
        raise AccountError(f"no user {login!r}")
    return row


def get(engine: Engine, login: str) -> Account:
    with session_scope(engine) as s:
        row = _row(s, login)
        pid, role, disabled = row.participant_id, row.role, row.disabled
        has_pw = bool(row.password_hash)
        key_count = len([k for k in row.public_keys.splitlines() if k.strip()])
    return Account(login, role, by_id(engine, pid), disabled, has_pw, key_count)


def list_users(engine: Engine) -> list[Account]:
    with session_scope(engine) as s:
        logins = list(s.scalars(select(User.login).order_by(User.login)))
    return [get(engine, login) for login in logins]


@dataclass(frozen=True)
class Credentials:
    """What the gateway needs to authenticate one login (loaded per attempt)."""

    login: str
    participant_id: int
    disabled: bool
    password_hash: str | None
    public_keys: tuple[str, ...]


def credentials(engine: Engine, login: str) -> Credentials | None:
    try:
        login = _check_login(login)
    except AccountError:
        return None
    with session_scope(engine) as s:
        row = s.scalars(select(User).where(User.login == login)).first()
        if row is None:
            return None
        return Credentials(row.login, row.participant_id, row.disabled, row.password_hash,
                           tuple(k for k in row.public_keys.splitlines() if k.strip()))


def verify_password(creds: Credentials | None, password: str) -> bool:
    """Constant work whether or not the user exists (no user-enumeration by timing)."""
    stored = creds.password_hash if creds and creds.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    return bool(ok and creds and creds.password_hash and not creds.disabled)


def key_matches(creds: Credentials | None, key: asyncssh.SSHKey) -> bool:
    if not creds or creds.disabled:
        return False
    data = key.public_data
    for line in creds.public_keys:
        try:
            if asyncssh.import_public_key(line).public_data == data:
                return True
        except (asyncssh.KeyImportError, ValueError):
            continue
    return False
