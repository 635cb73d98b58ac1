"""The portal's demo logins for ``casslink run``, beside the SFTP demo users of
``casslink.app.demo`` (passwords in ``secrets/demo-users.json``, mode 0600):

- ``demo-lh`` - company admin of Lufthansa Cargo (020), every right;
- ``demo-lh-clerk`` - an airline user of 020 with ``view`` and ``upload``;
- ``demo-agent`` - the demo agent, also granted an agent code of its group in India (IN), so
  it has participants in two operations and switches between them in one click.
"""

from __future__ import annotations

import contextlib
import json
import secrets as pysecrets
from dataclasses import dataclass

from sqlalchemy import Engine, select

from casslink import access
from casslink.db.engine import session_scope
from casslink.db.models import Participant, User
from casslink.participants import resolve
from casslink.secrets import _write_private
from casslink.settings import Settings
from casslink.sftp_gateway import accounts


@dataclass(frozen=True)
class PortalLogin:
    login: str
    password: str
    what: str


def ensure_portal_users(settings: Settings, engine: Engine) -> list[PortalLogin]:
    """Create the portal's extra demo grants and users (idempotent); the logins to print."""
    path = settings.secrets_dir / "demo-users.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known.setdefault("demo-lh-clerk", pysecrets.token_urlsafe(12))
    with contextlib.suppress(accounts.AccountError):  # exists from an earlier run
        accounts.add_user(engine, "demo-lh-clerk", resolve(engine, "020"), "user",
                          known["demo-lh-clerk"], rights=frozenset({"view", "upload"}))
    _write_private(path, json.dumps(known, indent=1))
    out = [PortalLogin("demo-lh", known.get("demo-lh", "?"), "company admin, airline 020"),
           PortalLogin("demo-lh-clerk", known["demo-lh-clerk"], "airline user, 020")]
    with session_scope(engine) as s:
        agent = s.scalars(select(User).where(User.login == "demo-agent")).first()
        if agent is None:
            return out
        india = s.scalars(select(Participant).where(
            Participant.kind == "agent", Participant.operation_code == "IN")
            .order_by(Participant.code)).first()
        if india is not None:
            access.set_grant(s, agent, india.id, access.RIGHTS)
        codes = [g.code for g in access.grants_of(s, agent)]
    out.append(PortalLogin("demo-agent", known.get("demo-agent", "?"),
                           f"agent in two operations: {', '.join(codes)}"))
    return out
