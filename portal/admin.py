"""Company administration: a company admin manages their own company's users - create,
disable, grant or revoke participants and rights (never beyond their own), reset a password,
add an SFTP key - and reads the company's audit log. Operators may manage every company.
Every change is written to the audit log in the same transaction (never a password or key)."""

from __future__ import annotations

import json

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from casslink import access
from casslink.db.models import AuditEntry, Company, User
from casslink.login_policy import InvalidLogin, canonical_login
from casslink.portal import views
from casslink.portal.deps import Principal
from casslink.sftp_gateway import accounts


def _require_admin(p: Principal) -> None:
    if (p.scopes is not None and "admin" not in p.scopes) or not p.is_admin:
        raise HTTPException(403, "company admins only")


def _grantable(p: Principal, code: str, rights: frozenset[str]) -> None:
    """An admin grants only participants they administer, and only rights they hold."""
    if not p.can("admin", code):
        raise HTTPException(403, f"you do not administer {code}")
    beyond = rights - p.rights_for(code)
    if beyond:
        raise HTTPException(403, f"you cannot grant {', '.join(sorted(beyond))} on {code}")


def user_dict(s: DbSession, u: User) -> dict:
    return {"login": u.login, "role": u.role, "disabled": u.disabled,
            "company_id": u.company_id, "has_password": bool(u.password_hash),
            "keys": len([k for k in u.public_keys.splitlines() if k.strip()]),
            "language": u.language,
            "grants": [{"participant": g.code, "operation": g.operation,
                        "rights": access.format_rights(g.rights).split(",")}
                       for g in access.grants_of(s, u)]}


def users(s: DbSession, p: Principal) -> list[dict]:
    _require_admin(p)
    q = select(User).order_by(User.login)
    if not p.operator:
        q = q.where(User.company_id == p.company_id)
    return [user_dict(s, u) for u in s.scalars(q)]


def _target(s: DbSession, p: Principal, login: str) -> User:
    """A user the admin may manage: of their company, and holding no grant of a participant
    the admin does not administer. Anyone else is not found (404)."""
    _require_admin(p)
    try:
        login = canonical_login(login)
    except InvalidLogin:
        raise HTTPException(404, "no such user") from None
    u = s.scalars(select(User).where(User.login == login)).first()
    if u is None or not (p.operator or (u.company_id == p.company_id and all(
            p.can("admin", g.code) for g in access.grants_of(s, u)))):
        raise HTTPException(404, "no such user")
    return u


def create_user(s: DbSession, p: Principal, login: str, password: str,
                grants: dict[str, list[str]]) -> dict:
    _require_admin(p)
    try:
        login = canonical_login(login)
        pw_hash = accounts.hash_password(password)
        wanted = {code: access.parse_rights(r) for code, r in grants.items()}
    except (InvalidLogin, accounts.AccountError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from exc
    wanted = {c: r for c, r in wanted.items() if r}
    if not wanted:
        raise HTTPException(422, "grant at least one participant")
    parts = {}
    for code, rights in wanted.items():
        _grantable(p, code, rights)
        parts[code] = views.participant(s, code)
        if parts[code] is None:
            raise HTTPException(404, f"no participant {code}")
    if s.scalars(select(User.id).where(User.login == login)).first() is not None:
        raise HTTPException(409, f"login {login} exists")
    first = parts[sorted(wanted)[0]]
    company = p.company_id if not p.operator or p.company_id is None else None
    if p.operator:
        company = access.company_for_participant(s, first).id
    user = User(login=login, participant_id=first.id, password_hash=pw_hash, public_keys="",
                role="admin" if any("admin" in r for r in wanted.values()) else "user",
                company_id=company, disabled=False)
    s.add(user)
    s.flush()
    for code, rights in wanted.items():
        access.set_grant(s, user, parts[code].id, rights)
    access.audit(s, p.login, "user.create", login,
                 {"grants": {c: sorted(r) for c, r in wanted.items()}}, company)
    return user_dict(s, user)


def disable_user(s: DbSession, p: Principal, login: str) -> dict:
    u = _target(s, p, login)
    if u.id == p.user_id:
        raise HTTPException(422, "you cannot disable yourself")
    u.disabled = True
    access.audit(s, p.login, "user.disable", u.login, {}, u.company_id)
    return user_dict(s, u)


def set_grant(s: DbSession, p: Principal, login: str, code: str, rights: list[str]) -> dict:
    u = _target(s, p, login)
    try:
        wanted = access.parse_rights(rights)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    _grantable(p, code, wanted)
    part = views.participant(s, code)
    if part is None:
        raise HTTPException(404, f"no participant {code}")
    access.set_grant(s, u, part.id, wanted)
    access.audit(s, p.login, "grant.revoke" if not wanted else "grant.set", u.login,
                 {"participant": code, "rights": sorted(wanted)}, u.company_id)
    return user_dict(s, u)


def reset_password(s: DbSession, p: Principal, login: str, password: str) -> dict:
    u = _target(s, p, login)
    try:
        u.password_hash = accounts.hash_password(password)
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    access.audit(s, p.login, "user.password_reset", u.login, {}, u.company_id)
    return user_dict(s, u)


def add_key(s: DbSession, p: Principal, login: str, key: str) -> dict:
    u = _target(s, p, login)
    try:
        keys = accounts.parse_public_keys(key)
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    current = [k for k in u.public_keys.splitlines() if k.strip()]
    current += [k for k in keys if k not in current]
    u.public_keys = "\n".join(current)
    access.audit(s, p.login, "user.key_add", u.login,
                 {"key_types": [k.split()[0] for k in keys]}, u.company_id)
    return user_dict(s, u)


def audit_log(s: DbSession, p: Principal, limit: int = 500) -> list[dict]:
    """The company's audit entries, newest first (operators: every company's)."""
    _require_admin(p)
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if not p.operator:
        q = q.where(AuditEntry.company_id == p.company_id)
    names = dict(s.execute(select(Company.id, Company.name)).all())
    return [{"id": e.id, "at": e.at.isoformat() if e.at else None, "actor": e.actor_login,
             "company": names.get(e.company_id), "action": e.action, "target": e.target,
             "detail": json.loads(e.detail or "{}")} for e in s.scalars(q)]
