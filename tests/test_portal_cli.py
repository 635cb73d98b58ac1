"""``casslink users token`` (a token that works on the API, audited, never its value) and
``casslink portal`` (a real uvicorn process serving the login page with its headers); the
demo's portal logins (an agent with grants in two operations)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from casslink import access
from casslink.app.cli.main import app
from casslink.db.engine import session_scope
from casslink.db.models import AuditEntry, User
from casslink.participants import resolve
from casslink.portal.app import create_app
from casslink.portal.demo import ensure_portal_users
from casslink.sftp_gateway import accounts
from tests.portal_world import PASSWORD, free_port, populate

runner = CliRunner()


def test_users_token_prints_a_working_token(system) -> None:
    settings, engine = system
    populate(engine)
    r = runner.invoke(app, ["users", "token", "fw-admin", "--scope", "view", "--scope",
                            "upload", "--name", "erp"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    assert token.startswith("csl_")
    c = TestClient(create_app(settings, engine=engine))
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["login"] == "fw-admin" and me["token_scopes"] == ["upload", "view"]
    with session_scope(engine) as s:
        e = s.scalars(select(AuditEntry).where(AuditEntry.action == "token.create")).one()
        assert token not in e.detail and e.target == "fw-admin"
    bad = runner.invoke(app, ["users", "token", "fw-admin", "--scope", "root"])
    assert bad.exit_code == 1 and "unknown rights" in bad.output
    assert runner.invoke(app, ["users", "token", "nobody-at-all"]).exit_code == 1


def test_casslink_portal_serves_under_uvicorn(home) -> None:
    port = free_port()
    env = dict(os.environ, CASSLINK_HOME=str(home))
    env.pop("CASSLINK_DB_URL", None)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "casslink"), "portal",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline, page = time.monotonic() + 60, None
        while time.monotonic() < deadline and page is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    page = (r.status, dict(r.headers), r.read().decode())
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.2)
        assert page is not None, "the portal did not answer"
        status, headers, body = page
        assert status == 200 and 'action="/login"' in body
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "server" not in {k.lower() for k in headers}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_demo_portal_logins(system) -> None:
    settings, engine = system
    settings.ensure_dirs()
    accounts.add_user(engine, "demo-lh", resolve(engine, "LH"), "admin", PASSWORD)
    accounts.add_user(engine, "demo-agent", resolve(engine, "23156130152"), "admin", PASSWORD)
    logins = {p.login: p for p in ensure_portal_users(settings, engine)}
    assert set(logins) == {"demo-lh", "demo-lh-clerk", "demo-agent"}
    assert ensure_portal_users(settings, engine)[1].password == logins["demo-lh-clerk"].password
    with session_scope(engine) as s:
        agent = s.scalars(select(User).where(User.login == "demo-agent")).one()
        assert {g.operation for g in access.grants_of(s, agent)} == {"DE", "IN"}
        clerk = s.scalars(select(User).where(User.login == "demo-lh-clerk")).one()
        assert [sorted(g.rights) for g in access.grants_of(s, clerk)] == [["upload", "view"]]
    assert (settings.secrets_dir / "demo-users.json").stat().st_mode & 0o077 == 0
