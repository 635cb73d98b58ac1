"""A real browser (Debian's chromium through Playwright) against the portal served by
uvicorn: the agent raises a dispute, the airline partly accepts it in its inbox, and the
agent's open page turns ADJUSTED by itself (htmx polling, no reload). Screenshots of both
sides are taken; ``CASSLINK_SCREENSHOTS=1`` writes them to docs/img/ (the ones there were
made so), else they go to the test's temporary folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from casslink.portal.app import create_app
from tests.conftest import reference_root
from tests.dispute_world import AWB1, LH, build
from tests.portal_world import CHROMIUM, browser_sign_in, launch, new_page, screenshot, served

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium")


@pytest.fixture
def portal(tmp_path):
    s, engine = reference_root(tmp_path / "var")
    build(s, engine, tmp_path)
    app = create_app(s, engine=engine)
    app.state.dispute_today = lambda: dt.date(2026, 12, 4)
    with served(app) as base:
        yield base
    engine.dispose()


def _sign_in(browser, base: str, login: str):
    return browser_sign_in(new_page(browser, 1200), base, login)


def test_raise_decide_adjusted_in_a_browser(portal, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
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
            screenshot(airline, tmp_path, "disputes-airline-inbox.png")
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
            screenshot(agent, tmp_path, "disputes-agent.png")
        finally:
            browser.close()
