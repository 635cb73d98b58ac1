"""A real browser (Debian's chromium through Playwright) against the portal served by
uvicorn: the agent raises a dispute and the airline's inbox, left open, shows it; the airline
partly accepts it and the agent's open page turns Adjusted by itself (htmx polling, no
reload). Then the agent raises one from a billed line: live period view -> the airline's
lines -> Dispute -> the form pre-filled -> raised, and the airline's open lines page marks
it by itself. Screenshots of each step are taken; ``CASSLINK_SCREENSHOTS=1`` writes them to
docs/img/ (the ones there were made so), else they go to the test's temporary folder."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from casslink.portal.app import create_app
from casslink.portal.routes import periods
from tests.conftest import reference_root
from tests.dispute_world import A1, AWB1, AWB_DEC, LH, build
from tests.portal_world import CHROMIUM, browser_sign_in, launch, new_page, screenshot, served

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium")


@pytest.fixture
def portal(tmp_path, monkeypatch):
    monkeypatch.setattr(periods, "_today", lambda: dt.date(2026, 12, 4))  # DE 2026-12 is live
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
            airline = _sign_in(browser, portal, "lh-admin")
            airline.goto(f"{portal}/disputes")  # the inbox is open before anything is raised
            expect(airline.locator("tr[data-dispute]")).to_have_count(0)

            agent = _sign_in(browser, portal, "fw-admin")
            agent.goto(f"{portal}/disputes/new?airline={LH}&awb={LH}-{AWB1}")
            agent.select_option("#d-agent", A1)
            agent.select_option("#d-reason", "rate")
            agent.fill("#d-amount", "120.00")
            agent.fill("#d-text", "contract rate 2.10/kg, not 2.50")
            agent.click("form.card button[type=submit]")
            agent.wait_for_url(f"{portal}/disputes/1")
            expect(agent.locator('[data-field="status"]')).to_have_text("Raised")

            # the airline's open inbox shows the new dispute without a reload
            expect(airline.locator('tr[data-dispute="1"]')).to_contain_text("Raised",
                                                                            timeout=15000)
            screenshot(airline, tmp_path, "disputes-airline-inbox.png")
            airline.goto(f"{portal}/disputes/1")
            airline.fill("#dec-amount", "80.00")
            airline.fill("#dec-text", "80.00 agreed, the rest is the fuel surcharge")
            airline.click('button[name=action][value=accept]')
            airline.wait_for_url(f"{portal}/disputes/1")
            expect(airline.locator('[data-field="status"]')).to_have_text("Adjusted")

            # the agent's page, left open, shows the decision without a reload
            expect(agent.locator('[data-field="status"]')).to_have_text("Adjusted",
                                                                        timeout=15000)
            expect(agent.locator('[data-field="adjustment"]')).to_contain_text("CCA CP0001")
            screenshot(agent, tmp_path, "disputes-agent.png")

            # from a billed line: the live period view links to the pair's lines (DE 2026-12:
            # A1's December AWB and the CCA CP0001 pair, marked with dispute 1)
            agent.goto(f"{portal}/periods/current")
            agent.click(f'section[data-period="DE-2026-12"] a[data-lines="{LH}"]')
            agent.wait_for_url(re.compile(r"/lines\?"))
            lines_url = agent.url
            ccr = agent.locator(f'tr[data-awb="{LH}-{AWB1}"][data-record="CCR"]')
            expect(ccr.locator('[data-field="dispute"]')).to_have_text("#1 Adjusted")
            airline.goto(lines_url)  # the airline's view of the same lines, left open
            expect(airline.locator('a[data-action="dispute"]')).to_have_count(0)

            agent.click(f'tr[data-awb="{LH}-{AWB_DEC}"] a[data-action="dispute"]')
            agent.wait_for_url(re.compile(r"/disputes/new\?"))
            expect(agent.locator("#d-awb")).to_have_value(f"{LH}-{AWB_DEC}")
            expect(agent.locator("#d-agent")).to_have_value(A1)
            expect(agent.locator("#d-airline")).to_have_value(LH)
            expect(agent.locator('[data-field="billed"] tr[data-record="AWB"]')).to_have_count(1)
            agent.select_option("#d-reason", "weight")
            agent.fill("#d-amount", "30.00")
            agent.fill("#d-text", "1,000 kg billed, 900 kg weighed at acceptance")
            screenshot(agent, tmp_path, "disputes-raise-from-line.png")
            agent.click("form.card button[type=submit]")
            agent.wait_for_url(f"{portal}/disputes/2")

            # the airline's open lines page marks the new dispute without a reload
            dec = airline.locator(f'tr[data-awb="{LH}-{AWB_DEC}"] [data-field="dispute"]')
            expect(dec).to_have_text("#2 Raised", timeout=15000)
            agent.goto(lines_url)
            expect(agent.locator(f'tr[data-awb="{LH}-{AWB_DEC}"] [data-field="dispute"]')
                   ).to_have_text("#2 Raised")
            screenshot(agent, tmp_path, "disputes-lines.png")
        finally:
            browser.close()
