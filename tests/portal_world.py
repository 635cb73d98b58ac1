"""A small world of portal users for the portal tests (no fixtures: plain functions).

Users (password PASSWORD for all):
- ``lh-admin``: first user of airline 020 (Lufthansa): every right there, a company admin;
- ``lh-clerk``: a second user of 020: view and upload, no admin;
- ``af-user``: airline 057 (Air France): another airline;
- ``fw-admin``: agent DE_AGENT, admin, also granted IN_AGENT (a forwarder group in two
  operations, one company);
- ``other-agent``: agent OTHER_AGENT in DE: another agent;
- ``nogrant``: a user of 020's company whose grant was revoked;
- ``ops``: a CASS operator.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from casslink import access
from casslink.db.engine import session_scope
from casslink.db.models import AccessGrant, Participant, User
from casslink.participants import resolve
from casslink.sftp_gateway import accounts

PASSWORD = "portal-password-1234"
DE_AGENT, IN_AGENT, OTHER_AGENT = "23156130152", "14947790152", "23658656000"
LH, AF = "020", "057"


def populate(engine) -> None:
    add = lambda login, code, role="user", **kw: accounts.add_user(
        engine, login, resolve(engine, code), role, PASSWORD, **kw)
    add("lh-admin", LH, "admin")
    add("lh-clerk", LH, rights=frozenset({"view", "upload"}))
    add("af-user", AF)
    add("fw-admin", DE_AGENT, "admin")
    add("other-agent", OTHER_AGENT)
    add("nogrant", LH)
    add("ops", "cass", "admin")
    with session_scope(engine) as s:
        fw = s.scalars(select(User).where(User.login == "fw-admin")).one()
        in_id = s.scalars(select(Participant.id).where(Participant.code == IN_AGENT)).one()
        access.set_grant(s, fw, in_id, access.RIGHTS)
        ng = s.scalars(select(User).where(User.login == "nogrant")).one()
        s.query(AccessGrant).filter(AccessGrant.user_id == ng.id).delete()


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client) -> str:
    """The session's CSRF token, as a page shows it."""
    return CSRF_RE.search(client.get("/login").text).group(1)


def sign_in(client, login: str, password: str = PASSWORD):
    return client.post("/login", data={"login": login, "password": password,
                                       "csrf": csrf_of(client), "next": "/me"},
                       follow_redirects=False)
