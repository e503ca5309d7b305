"""Browser tests: Playwright driving Debian's chromium against a live voxdash and simulator."""

import os
from dataclasses import dataclass
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
    from vox_simulator import keys
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


# --- Shared by the accessibility, CSP, XSS and keyboard tests (and scripts/screenshots.py).

# Every violation of the CSP, as the page saw it (an init script is not subject to the page's CSP).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def new_page(browser):
    """new_page(**context_options) -> a page in its own context (color_scheme, bypass_csp, …),
    with `page.js_errors` like `page`'s and the CSP listener installed; closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
        contexts.append(context)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.js_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


ROOT_USER = ("root", "pw-root-123")


@dataclass
class Site:
    """A live voxdash with a superuser and one of everything a page can show."""

    base: str
    simulator: object
    call_id: str  # a call in the mirror, placed through voxdash, with its webhook timeline
    placed_key: str
    webhook_event_pk: int

    def main_pages(self) -> dict[str, str]:
        """name -> path of the pages people use (the forms' second steps are reached by clicking)."""
        from django.urls import NoReverseMatch, reverse

        pages = {
            "overview": "/",
            "history": "/calls/",
            "history-filtered": "/calls/?direction=outbound&status=completed&search=a",
            "history-mirror": "/calls/?created_after=2000-01-01",
            "call-detail": f"/calls/{self.call_id}/",
            "numbers": "/numbers/",
            "agents": "/agents/",
            "place-call": "/calls/new/",
            "placed-calls": "/calls/placed/",
            "placed-call": f"/calls/placed/{self.placed_key}/",
        }
        # Pages other work adds: included once they exist.
        for name, view, kwargs in (
            ("stats", "stats:overview", {}),
            ("webhook-log", "webhooks:log", {}),
            ("webhook-event", "webhooks:log_detail", {"pk": self.webhook_event_pk}),
            ("do-not-call", "dnc:list", {}),
            ("alerts", "alerts:index", {}),
            ("audit-log", "audit:index", {}),
            ("api-tokens", "api_tokens:list", {}),
            ("subscriptions", "subscriptions:list", {}),
            ("password", "account_change_password", {}),
            ("two-factor", "mfa_index", {}),
        ):
            try:
                pages[name] = reverse(view, kwargs=kwargs)
            except NoReverseMatch:
                pass
        from voxdash.alerts.models import AlertRule

        rule = AlertRule.objects.filter(builtin=True).order_by("pk").first()
        pages["alert-rule"] = rule.get_absolute_url()
        return pages


def seed_site(
    base: str,
    sim,
    *,
    customer_name: str = "Fúnmiláyọ̀ Adébáyọ̀",
    context: str = "Confirm order #1042 and the delivery window (2–4 pm).",
) -> Site:
    """Mirror the simulator, place one call through voxdash's records and play its webhooks."""
    import json

    from django.contrib.auth.models import User

    from voxdash.calls.sync import calls_sync
    from voxdash.directory.sync import directory_sync
    from voxdash.placements.models import PlacedCall, payload_fingerprint
    from voxdash.vox import get_client
    from voxdash.webhooks.models import WebhookEvent
    from voxdash.webhooks.services import webhook_event_process, webhook_event_receive

    User.objects.create_superuser(ROOT_USER[0], "root@example.com", ROOT_USER[1])
    number, agent = sim.store.list_numbers()[0], sim.store.list_agents()[0]
    call_id, _ = sim.store.place_call("+2348031234560", customer_name, "test", True)
    payload = {
        "customer_phone": "+2348031234560",
        "customer_name": customer_name,
        "purpose": "order_confirmation",
        "context": context,
        "business_voice_number_id": number["id"],
        "ai_agent_id": agent["id"],
    }
    placed = PlacedCall.objects.create(
        username=ROOT_USER[0],
        payload=payload,
        payload_fingerprint=payload_fingerprint(payload),
        customer_phone=payload["customer_phone"],
        outcome=PlacedCall.Outcome.QUEUED,
        vox_placement_id=call_id,
        listed_call_id=call_id,
    )
    client = get_client()
    calls_sync(full=True, client=client)
    directory_sync(client=client)
    for _ in range(4):
        sim.advance(call_id)
    for event in sim.events():
        body = json.dumps(event).encode()
        stored, _ = webhook_event_receive(body=body, header_id=event["id"])
        webhook_event_process(event_pk=stored.pk)
    event_pk = WebhookEvent.objects.filter(call_vox_id=call_id).values_list("pk", flat=True).first()
    return Site(base, sim, call_id, str(placed.idempotency_key), event_pk)


@pytest.fixture
def site(live_vox, simulator) -> Site:
    return seed_site(live_vox.url, simulator)
