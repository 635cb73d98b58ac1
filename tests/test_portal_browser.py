"""The portal in a real browser: Playwright driving Debian's chromium (headless) against a
uvicorn server on loopback. Signing in, switching participant, uploading a file and seeing its
acknowledgement, an admin creating a user who then signs in, Japanese, and the live period
view updating after an upload without a reload. Screenshots go to docs/img/ (docs/portal.md)
with ``CASSLINK_SCREENSHOTS=1``, else to a temporary folder.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from casslink.app.ingest import ingest_file
from casslink.app.synthetic.generator import generate_billing
from casslink.parsers.hot import write_hot
from casslink.portal.app import create_app
from casslink.reference import ReferenceData
from tests.conftest import REPO, reference_root
from tests.portal_world import (
    CHROMIUM,
    DE_AGENT,
    IN_AGENT,
    LH,
    browser_sign_in,
    launch,
    populate,
    screenshot,
    served,
)

SHOTS = Path()  # the module's temporary folder (_screenshots_folder)
pytestmark = pytest.mark.skipif(  # CI installs it (.ci/run): there a missing one fails
    not Path(CHROMIUM).exists() and os.environ.get("CI", "").lower() != "true",
    reason="Debian's chromium is not installed")
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A uvicorn server of the portal on a data root with the test world; uploads are
    ingested in a background thread, as the ingest DAG does after the notifier's trigger."""
    home = tmp_path_factory.mktemp("browser") / "var"
    settings, engine = reference_root(home)
    populate(engine)

    def notify(file_id: int) -> None:
        threading.Thread(target=ingest_file, args=(settings, engine, file_id),
                         daemon=True).start()

    ref = ReferenceData.from_fixtures(REPO / "fixtures" / "reference")
    files = {}
    for seed in (31, 32):
        gen = next(f for f in generate_billing(ref, "DE", ref.period("DE", "2026-11"), 300,
                                               seed=seed, file_number=seed - 30)
                   if f.airline_prefix == LH)
        path = tmp_path_factory.mktemp(f"f{seed}") / f"LH_DE_2026-11_{seed}.hot"
        path.write_bytes(write_hot(gen.header, gen.records, gen.charges))
        files[seed] = path
    with served(create_app(settings, engine=engine, notify=notify)) as base:
        yield base, files
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as pw:
        b = launch(pw)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    p = ctx.new_page()
    p.set_default_timeout(20_000)
    yield p
    ctx.close()


@pytest.fixture(scope="module", autouse=True)
def _screenshots_folder(tmp_path_factory):
    global SHOTS
    SHOTS = tmp_path_factory.mktemp("screenshots")


def shot(page, name: str) -> None:
    """A screenshot ``portal-<name>.png`` (docs/portal.md shows them)."""
    screenshot(page, SHOTS, f"portal-{name}.png")


def test_sign_in(server, page) -> None:
    base, _ = server
    page.goto(f"{base}/login")
    shot(page, "signin")
    page.fill("#login", "lh-admin")
    page.fill("#password", "wrong-password-1")
    page.click("button.primary")
    assert "Sign-in failed" in page.inner_text("[role=alert]")
    browser_sign_in(page, base, "lh-admin")
    assert page.inner_text("[data-field=login]") == "lh-admin"
    assert page.inner_text("[data-field=company]") == "Lufthansa Cargo"
    shot(page, "account")


def test_switch_participant_in_one_click(server, page) -> None:
    base, _ = server
    browser_sign_in(page, base, "fw-admin")
    page.goto(f"{base}/periods/current")
    assert page.get_attribute(f"[data-participant='{DE_AGENT}']", "aria-pressed") == "true"
    page.click(f"[data-participant='{IN_AGENT}']")
    page.wait_for_url(f"{base}/periods/current")
    assert page.get_attribute(f"[data-participant='{IN_AGENT}']", "aria-pressed") == "true"
    assert IN_AGENT in page.inner_text("h1")
    shot(page, "switch")


def test_upload_and_see_the_ack(server, page) -> None:
    base, files = server
    browser_sign_in(page, base, "lh-admin")
    page.goto(f"{base}/files")
    page.set_input_files("#file", str(files[31]))
    page.click("#upload-form button[type=submit]")
    row = page.locator("#files-table tbody tr").filter(has_text=files[31].name)
    row.locator("a[download]").wait_for()  # htmx polls until the ack is there
    assert "accepted" in row.inner_text()
    href = row.locator("a[download]").get_attribute("href")
    ack = page.request.get(f"{base}{href}")
    assert ack.ok and ack.text().startswith("ACH")
    shot(page, "upload-ack")


def test_admin_creates_a_user_who_signs_in(server, browser, page) -> None:
    base, _ = server
    browser_sign_in(page, base, "lh-admin")
    page.goto(f"{base}/admin/users")
    page.fill("#nu-login", "Not a login!")  # the browser checks the pattern before posting
    assert page.eval_on_selector("#nu-login", "e => e.validity.patternMismatch")
    page.fill("#nu-login", "lh-browser")
    assert not page.eval_on_selector("#nu-login", "e => e.validity.patternMismatch")
    page.fill("#nu-password", "browser-password-1234")
    page.check("#new-user input[value=upload]")
    page.click("#new-user button[type=submit]")
    page.wait_for_selector("[data-user='lh-browser']")
    shot(page, "admin-users")
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    other = ctx.new_page()
    browser_sign_in(other, base, "lh-browser", "browser-password-1234")
    assert other.inner_text("[data-field=login]") == "lh-browser"
    ctx.close()
    page.goto(f"{base}/admin/audit")
    assert "user.create" in page.inner_text("#audit")


def test_language_japanese(server, page) -> None:
    base, _ = server
    browser_sign_in(page, base, "fw-admin")
    page.select_option("#language-select", "ja")
    page.click("form.lang button[type=submit]")
    page.wait_for_selector("html[lang=ja]")
    assert "サインアウト" in page.inner_text("header")
    assert "アカウント" in page.inner_text("h1")
    page.goto(f"{base}/periods/current")
    assert "現在の期間" in page.inner_text("h1")
    shot(page, "ja")
    page.select_option("#language-select", "en")  # leave the user in English
    page.click("form.lang button[type=submit]")
    page.wait_for_selector("html[lang=en]")


def test_live_period_view_updates_without_reload(server, browser, page) -> None:
    base, files = server
    browser_sign_in(page, base, "lh-clerk")
    page.goto(f"{base}/periods/current")
    kpi = page.locator("[data-period='DE-2026-11'] [data-kpi='records-EUR']")
    before = int(kpi.inner_text().replace(",", "")) if kpi.count() else 0
    page.evaluate("window.__noReload = 42")
    uploader = browser.new_context()
    up = uploader.new_page()
    browser_sign_in(up, base, "lh-admin")
    up.goto(f"{base}/files")
    up.set_input_files("#file", str(files[32]))
    up.click("#upload-form button[type=submit]")
    row = up.locator("#files-table tbody tr").filter(has_text=files[32].name)
    row.locator("a[download]").wait_for()
    assert "accepted" in row.inner_text()
    uploader.close()
    page.wait_for_function(
        "([sel, before]) => { const e = document.querySelector(sel);"
        " return e && parseInt(e.textContent.replace(/,/g, '')) > before; }",
        arg=["[data-period='DE-2026-11'] [data-kpi='records-EUR']", before], timeout=30_000)
    assert page.evaluate("window.__noReload") == 42  # the same page: no reload happened
    shot(page, "live-period")
