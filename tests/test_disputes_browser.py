"""A real browser (Debian's chromium through Playwright) against the portal served by
uvicorn: the agent raises a dispute, the airline partly accepts it in its inbox, and the
agent's open page turns ADJUSTED by itself (htmx polling, no reload). Screenshots of both
sides are taken; ``CASSLINK_SCREENSHOTS=1`` writes them to docs/img/ (the ones there were
made so), else they go to the test's temporary folder."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from casslink.portal.app import create_app
from tests.conftest import REPO, reference_root
from tests.dispute_world import AWB1, LH, build
from tests.portal_world import PASSWORD

CHROMIUM = "/usr/bin/chromium"
IMG = REPO / "docs" / "img"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def portal(tmp_path):
    s, engine = reference_root(tmp_path / "var")
    build(s, engine, tmp_path)
    app = create_app(s, engine=engine)
    app.state.dispute_today = lambda: dt.date(2026, 12, 4)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    engine.dispose()


def _sign_in(browser, base: str, login: str):
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(f"{base}/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/me")
    return page


def _shot(page, folder: Path, name: str) -> None:
    where = IMG if os.environ.get("CASSLINK_SCREENSHOTS") == "1" else folder
    where.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(where / name), full_page=True)
    assert (where / name).stat().st_size > 10_000


def test_raise_decide_adjusted_in_a_browser(portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            agent = _sign_in(browser, portal, "fw-admin")
            agent.goto(f"{portal}/disputes/new?airline={LH}&awb={LH}-{AWB1}")
            agent.select_option("#d-agent", "23156130152")
            agent.select_option("#d-reason", "rate")
            agent.fill("#d-amount", "120.00")
            agent.fill("#d-text", "contract rate 2.10/kg, not 2.50")
            agent.click("form.card button[type=submit]")
            agent.wait_for_url(f"{portal}/disputes/1")
            expect(agent.locator('[data-field="status"]')).to_have_text("RAISED")

            airline = _sign_in(browser, portal, "lh-admin")
            airline.goto(f"{portal}/disputes?status=RAISED")
            expect(airline.locator('tr[data-dispute="1"]')).to_contain_text("RAISED")
            _shot(airline, tmp_path, "disputes-airline-inbox.png")
            airline.goto(f"{portal}/disputes/1")
            airline.fill("#dec-amount", "80.00")
            airline.fill("#dec-text", "80.00 agreed, the rest is the fuel surcharge")
            airline.click('button[name=action][value=accept]')
            airline.wait_for_url(f"{portal}/disputes/1")
            expect(airline.locator('[data-field="status"]')).to_have_text("ADJUSTED")

            # the agent's page, left open, shows the decision without a reload
            expect(agent.locator('[data-field="status"]')).to_have_text("ADJUSTED",
                                                                        timeout=15000)
            expect(agent.locator('[data-field="adjustment"]')).to_contain_text("CCA CP0001")
            _shot(agent, tmp_path, "disputes-agent.png")
        finally:
            browser.close()
