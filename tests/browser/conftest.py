"""Browser tests: Playwright driving Debian's chromium against a live voxdash and simulator."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("VOXDASH_CHROMIUM", "/usr/bin/chromium"))
# Without these, chromium tries to reach Google's hosts at start-up; this network refuses them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls happen in
# their own threads, but fixtures that touch the database here need Django's permission.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (scripts/ensure-chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_vox(live_server, simulator, settings):
    """The live server's pages talk to the simulator."""
    from voxdash.simulator import keys
    from voxdash.vox import reset_client

    settings.VOX_API_BASE_URL = simulator.base_url
    settings.VOX_API_KEY = keys.DEMO_KEY
    reset_client()
    yield live_server
    reset_client()


def _new_page(browser, java_script_enabled: bool):
    context = browser.new_context(java_script_enabled=java_script_enabled)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    return context, page


@pytest.fixture
def page(browser):
    context, page = _new_page(browser, java_script_enabled=True)
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser):
    context, page = _new_page(browser, java_script_enabled=False)
    yield page
    context.close()


def sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/")
