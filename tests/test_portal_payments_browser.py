"""A real browser (Debian's chromium through Playwright) against the portal served by
uvicorn: an agent chooses to be debited on a date of its own; after the bank's statement,
another agent's page shows its short payment, the operator matches the unmatched credit to
its reference, and that page turns PAID by itself (htmx polling, no reload). Screenshots of
the three pages are taken; ``CASSLINK_SCREENSHOTS=1`` writes them to docs/img/ (the ones
there were made so), else they go to the test's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from casslink.portal.app import create_app
from tests.conftest import reference_root
from tests.portal_world import CHROMIUM, browser_sign_in, launch, new_page, screenshot, served
from tests.test_payments_period import A1, A2
from tests.test_portal_payments import REF2, TODAY, collected, pay

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium")


@pytest.fixture
def portal(tmp_path):
    settings, engine = reference_root(tmp_path / "var")
    collected(settings, engine)
    app = create_app(settings, engine=engine)
    app.state.payments_today = lambda: TODAY
    with served(app) as base:
        yield base, settings, engine
    engine.dispose()


def _sign_in(browser, base: str, login: str):
    return browser_sign_in(new_page(browser), base, login)


def test_choose_an_option_and_match_an_entry_in_a_browser(portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, settings, engine = portal
    with sync_playwright() as pw:
        browser = launch(pw)
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
            screenshot(agent, tmp_path, "portal-payments-agent.png")

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
            screenshot(ops, tmp_path, "portal-payments-operator.png")
            entry.locator("button[type=submit]").click()
            ops.wait_for_url(f"{base}/payments#unmatched")
            expect(ops.locator("tr[data-entry]")).to_have_count(0)
            expect(ops.locator(f'tr[data-agent="DE-{A2}"] form input[name=reason]')
                   ).to_have_count(1)  # paid in full: the reinstatement decision is offered

            # the other agent's page, left open, shows the payment without a reload
            expect(other.locator(f'tr[data-reference="{REF2}"] [data-field="status"]')
                   ).to_have_text("PAID", timeout=20000)
            expect(other.locator('[data-field="cured-on"]')).to_have_text("2026-12-28")
            screenshot(other, tmp_path, "portal-payments-agent-paid.png")
            assert A1 not in other.content()
        finally:
            browser.close()
