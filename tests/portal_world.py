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

And the browser tests' helpers: ``served`` (the portal under uvicorn on loopback),
``launch`` (Debian's chromium through Playwright), ``browser_sign_in`` and ``screenshot``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
IMG = Path(__file__).resolve().parents[1] / "docs" / "img"


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def launch(pw):
    """Debian's chromium, headless, from a ``sync_playwright()`` handle."""
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])


def browser_sign_in(page, base: str, login: str, password: str = PASSWORD):
    """Sign ``page`` in through the login form; returns it on the account page."""
    page.goto(f"{base}/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/me")
    return page


def new_page(browser, width: int = 1280, height: int = 900):
    """A page in a fresh browser context (its own cookies: one user a context)."""
    return browser.new_context(viewport={"width": width, "height": height}).new_page()


def screenshot(page, folder: Path, name: str) -> None:
    """A full-page screenshot ``name``: into docs/img/ with ``CASSLINK_SCREENSHOTS=1`` (to
    refresh the docs'), else into ``folder``, so a test run leaves the repository unchanged."""
    where = IMG if os.environ.get("CASSLINK_SCREENSHOTS") == "1" else folder
    where.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(where / name), full_page=True)
    assert (where / name).stat().st_size > 10_000
