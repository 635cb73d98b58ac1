"""casslink.access: companies, grants and rights, operators, tokens, the audit log; and
revision 0009_access migrating existing users (one company per participant, a grant each) -
on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from casslink import access
from casslink.db.engine import make_engine, session_scope, upgrade
from casslink.db.models import AccessGrant, ApiToken, AuditEntry, Company, User
from casslink.participants import resolve
from casslink.sftp_gateway import accounts
from tests.portal_world import AF, DE_AGENT, IN_AGENT, LH, OTHER_AGENT, populate


def _user(s, login: str) -> User:
    return s.scalars(select(User).where(User.login == login)).one()


def test_migration_gives_existing_users_a_company_and_a_grant(db_url) -> None:
    upgrade(db_url, "0007")
    engine = make_engine(db_url)
    with engine.begin() as c:  # rows as revision 0007 knows them (the models are newer)
        for kind, code, name in [("airline", LH, "Lufthansa Cargo"),
                                 ("agent", DE_AGENT, "Rhein Air Logistik GmbH")]:
            c.execute(text("insert into participants (kind, code, name, active) values "
                           "(:k, :c, :n, true)"), {"k": kind, "c": code, "n": name})
        pid = {code: c.execute(text("select id from participants where code = :c"),
                               {"c": code}).scalar_one() for code in (LH, DE_AGENT)}
        for login, code, role in [("a-first", LH, "user"), ("a-second", LH, "user"),
                                  ("b-admin", DE_AGENT, "admin"), ("b-user", DE_AGENT, "user")]:
            c.execute(text("insert into users (login, participant_id, role, public_keys, "
                           "disabled, created_at) values (:l, :p, :r, '', false, "
                           "CURRENT_TIMESTAMP)"), {"l": login, "p": pid[code], "r": role})
    upgrade(db_url)
    with session_scope(engine) as s:
        companies = {c.id: (c.name, c.kind) for c in s.scalars(select(Company))}
        assert sorted(companies.values()) == [("Lufthansa Cargo", "airline"),
                                              ("Rhein Air Logistik GmbH", "agent")]
        got = {u.login: companies[u.company_id][0] for u in s.scalars(select(User))}
        rights = {u.login: [(g.code, sorted(g.rights)) for g in access.grants_of(s, u)]
                  for u in s.scalars(select(User))}
    assert got == {
        "a-first": "Lufthansa Cargo", "a-second": "Lufthansa Cargo",
        "b-admin": "Rhein Air Logistik GmbH", "b-user": "Rhein Air Logistik GmbH"}
    every = sorted(access.RIGHTS)
    no_admin = sorted(set(access.RIGHTS) - {"admin"})
    # the first user of a participant and an admin get every right, the others all but admin
    assert rights == {"a-first": [(LH, every)], "a-second": [(LH, no_admin)],
                      "b-admin": [(DE_AGENT, every)], "b-user": [(DE_AGENT, no_admin)]}
    engine.dispose()


def test_rights_grants_and_operators(system) -> None:
    _, engine = system
    populate(engine)
    with session_scope(engine) as s:
        fw, other, clerk, ng, ops = (_user(s, n) for n in
                                     ("fw-admin", "other-agent", "lh-clerk", "nogrant", "ops"))
        assert [(g.code, g.operation) for g in access.grants_of(s, fw)] == [
            (DE_AGENT, "DE"), (IN_AGENT, "IN")]
        assert access.can(s, fw, "admin", participant_code=IN_AGENT)
        assert access.can(s, fw, "view", participant_code=IN_AGENT, operation="IN")
        assert not access.can(s, fw, "view", participant_code=IN_AGENT, operation="DE")
        assert not access.can(s, fw, "view", participant_code=OTHER_AGENT)
        assert not access.can(s, other, "view", participant_code=DE_AGENT)
        assert access.can(s, clerk, "upload", participant_code=LH)
        # an airline's grant names no operation: it covers each of the airline's operations
        assert access.can(s, clerk, "view", participant_code=LH, operation="IN")
        assert not access.can(s, clerk, "finance", participant_code=LH)
        assert not access.can(s, ng, "view", participant_code=LH)
        assert access.is_operator(s, ops) and not access.is_operator(s, fw)
        for u in (fw, other, clerk, ng, ops):  # the portal's one query for both
            assert access.user_and_operator(s, u.id) == (u, access.is_operator(s, u))
        assert access.user_and_operator(s, -1) == (None, False)
        assert access.can(s, ops, "finance", participant_code=AF)
        with pytest.raises(access.Forbidden):
            access.require(s, clerk, "admin", participant_code=LH)
        with pytest.raises(ValueError, match="unknown right"):
            access.can(s, clerk, "root", participant_code=LH)
        clerk.disabled = True
        assert not access.can(s, clerk, "view", participant_code=LH)


def test_users_add_joins_the_participants_company(system) -> None:
    _, engine = system
    accounts.add_user(engine, "x-first", resolve(engine, AF), "user", "a-password-long")
    accounts.add_user(engine, "x-second", resolve(engine, AF), "user", "a-password-long")
    with session_scope(engine) as s:
        a, b = _user(s, "x-first"), _user(s, "x-second")
        assert a.company_id == b.company_id is not None
        assert s.get(Company, a.company_id).kind == "airline"
        assert [sorted(g.rights) for g in access.grants_of(s, a)] == [sorted(access.RIGHTS)]
        assert "admin" not in access.grants_of(s, b)[0].rights


def test_tokens_are_shown_once_stored_hashed_and_revocable(system) -> None:
    _, engine = system
    populate(engine)
    with session_scope(engine) as s:
        user = _user(s, "lh-admin")
        token = access.issue_token(s, user, ["view"], "erp")
        row = s.scalars(select(ApiToken)).one()
        assert token.startswith("csl_") and token not in row.token_sha256
        assert row.token_sha256 == access.token_digest(token) and row.scopes == "view"
        with pytest.raises(ValueError):
            access.issue_token(s, user, [], "none")
        with pytest.raises(ValueError):
            access.issue_token(s, user, ["sudo"], "bad")
    with session_scope(engine) as s:
        assert access.user_for_token(s, token).login == "lh-admin"
        assert access.user_for_token(s, token + "x") is None
        assert access.user_for_token(s, "not-a-token") is None
        assert s.scalars(select(ApiToken)).one().last_used_at is not None
        other = _user(s, "af-user")
        tid = s.scalars(select(ApiToken.id)).one()
        assert not access.revoke_token(s, other, tid)  # not theirs
        assert access.revoke_token(s, _user(s, "lh-admin"), tid)
        assert not access.revoke_token(s, _user(s, "lh-admin"), tid)  # already revoked
    with session_scope(engine) as s:
        assert access.user_for_token(s, token) is None


def test_audit_appends_json_detail(system) -> None:
    _, engine = system
    with session_scope(engine) as s:
        access.audit(s, "lh-admin", "user.create", "lh-new", {"rights": ["view"]}, 7)
    with session_scope(engine) as s:
        e = s.scalars(select(AuditEntry)).one()
        assert (e.actor_login, e.action, e.target, e.company_id) == (
            "lh-admin", "user.create", "lh-new", 7)
        assert json.loads(e.detail) == {"rights": ["view"]}


def test_set_grant_replaces_and_revokes(system) -> None:
    _, engine = system
    populate(engine)
    with session_scope(engine) as s:
        clerk = _user(s, "lh-clerk")
        pid = access.grants_of(s, clerk)[0].participant_id
        access.set_grant(s, clerk, pid, ["view"])
        assert [g.rights for g in access.grants_of(s, clerk)] == [frozenset({"view"})]
        access.set_grant(s, clerk, pid, [])
        assert access.grants_of(s, clerk) == []
        assert s.scalars(select(AccessGrant).where(AccessGrant.user_id == clerk.id)).all() == []
