"""A real browser (Debian's chromium through Playwright) against the portal served by
uvicorn: an agent chooses to be debited on a date of its own; after the bank's statement,
another agent's page shows its short payment, the operator matches the unmatched credit to
its reference, and that page turns PAID by itself (htmx polling, no reload). Screenshots of
the three pages are taken; ``CASSLINK_SCREENSHOTS=1`` writes them to docs/img/ (the ones
there were made so), else they go to the test's temporary folder."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from casslink.portal.app import create_app
from tests.conftest import REPO, reference_root
from tests.portal_world import PASSWORD
from tests.test_payments_period import A1, A2
from tests.test_portal_payments import REF2, TODAY, collected, pay

CHROMIUM = "/usr/bin/chromium"
IMG = REPO / "docs" / "img"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def portal(tmp_path):
    settings, engine = reference_root(tmp_path / "var")
    collected(settings, engine)
    app = create_app(settings, engine=engine)
    app.state.payments_today = lambda: TODAY
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", settings, engine
    server.should_exit = True
    thread.join(10)
    engine.dispose()


def _sign_in(browser, base: str, login: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
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


def test_choose_an_option_and_match_an_entry_in_a_browser(portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, settings, engine = portal
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            agent = _sign_in(browser, base, "fw-admin")
            agent.click("nav.main a[href='/payments']")
            agent.wait_for_url(f"{base}/payments")
            form = agent.locator("form[data-form=option]")
            form.locator("select[name=option]").select_option("chosen_date")
            form.locator("input[name=debit_date]").fill("2026-12-20")
            form.locator("button[type=submit]").click()
            agent.wait_for_url(f"{base}/payments#remittances")
            row = agent.locator('tr[data-reference] >> nth=0')
            option = row.locator('[data-field="option"]')
            expect(option).to_have_text("Direct debit on a date I choose · 2026-12-20")
            expect(option).to_have_attribute("data-option", "chosen_date")
            expect(agent.locator('[data-agent-status="DE"]')).to_have_text("DE: ACTIVE")
            _shot(agent, tmp_path, "portal-payments-agent.png")

            pay(settings, engine)  # debits, the bank's statement, a payout round, the review
            other = _sign_in(browser, base, "other-agent")
            other.goto(f"{base}/payments")
            expect(other.locator(f'tr[data-reference="{REF2}"] [data-field="status"]')
                   ).to_have_text("SHORT")
            expect(other.locator('[data-agent-status="DE"]')).to_have_text("DE: DEFAULTED")

            ops = _sign_in(browser, base, "ops")
            ops.goto(f"{base}/payments")
            entry = ops.locator("tr[data-entry]")
            expect(entry).to_have_count(1)
            entry.locator("input[name=reference]").fill(REF2)
            entry.locator("input[name=reason]").fill("phoned: the rest of November")
            _shot(ops, tmp_path, "portal-payments-operator.png")
            entry.locator("button[type=submit]").click()
            ops.wait_for_url(f"{base}/payments#unmatched")
            expect(ops.locator("tr[data-entry]")).to_have_count(0)
            expect(ops.locator(f'tr[data-agent="DE-{A2}"] form input[name=reason]')
                   ).to_have_count(1)  # paid in full: the reinstatement decision is offered

            # the other agent's page, left open, shows the payment without a reload
            expect(other.locator(f'tr[data-reference="{REF2}"] [data-field="status"]')
                   ).to_have_text("PAID", timeout=20000)
            expect(other.locator('[data-field="cured-on"]')).to_have_text("2026-12-28")
            _shot(other, tmp_path, "portal-payments-agent-paid.png")
            assert A1 not in other.content()
        finally:
            browser.close()
