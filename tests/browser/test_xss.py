"""Script payloads in customer names, call contexts, webhook data and the query string render as
inert text, checked in a real browser.

The pages are opened with the CSP bypassed: the CSP would block an inline handler anyway, and
this test is about the escaping underneath it (defence in depth), so a slip must show up here.
"""

import json
import re

import pytest

from .conftest import ROOT_USER, seed_site, sign_in

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
JS_URL = "javascript:window.__xss=1"


@pytest.fixture
def hostile_site(live_vox, simulator):
    from voxdash.calls.models import Call
    from voxdash.webhooks.models import WebhookEvent
    from voxdash.webhooks.services import webhook_event_process, webhook_event_receive

    simulator.store.place_call("+2348031234561", SCRIPT, "test", True)  # listed by the API and mirrored
    site = seed_site(live_vox.url, simulator, customer_name=IMG, context=f"Say {SCRIPT} and {IMG}")
    Call.objects.filter(vox_id=site.call_id).update(failure_reason=SCRIPT, recording_url=JS_URL)
    body = json.dumps(
        {
            "id": f"evt_{IMG}",
            "type": "vox.call.failed",
            "created": "2026-01-05T10:00:00.000Z",
            "environment": "test",
            "data": {"callId": site.call_id, "status": "failed", "reason": SCRIPT, "customerName": IMG},
        }
    ).encode()
    event, _ = webhook_event_receive(body=body, header_id=f"evt_{IMG}")
    webhook_event_process(event_pk=event.pk)
    WebhookEvent.objects.filter(pk=event.pk).update(outcome_detail=SCRIPT)
    site.webhook_event_pk = event.pk
    return site


def assert_inert(page, name: str, *visible: str) -> None:
    page.wait_for_load_state("load")
    page.wait_for_timeout(50)  # an onerror fires after load of the broken image
    assert page.evaluate("window.__xss") is None, f"{name}: a payload ran"
    injected = page.evaluate(
        """() => document.querySelectorAll('img[src="x"], img[onerror]').length
                 + [...document.scripts].filter(s => s.textContent.includes("__xss")).length"""
    )
    assert injected == 0, f"{name}: a payload became markup"
    text = page.inner_text("body")
    for payload in visible:
        assert payload in text, f"{name}: {payload!r} is not shown as text"


def test_payloads_render_as_text(new_page, hostile_site):
    site = hostile_site
    page = new_page(bypass_csp=True)
    sign_in(page, site.base, *ROOT_USER)
    pages = {
        "history (API)": ("/calls/", IMG, SCRIPT),
        "history (mirror)": ("/calls/?created_after=2000-01-01", IMG, SCRIPT),
        "call detail": (f"/calls/{site.call_id}/", IMG, SCRIPT),
        "placed calls": ("/calls/placed/", IMG),
        "placed call": (f"/calls/placed/{site.placed_key}/", IMG, SCRIPT),
        "overview": ("/",),
        # Reflected: the query string comes back in inputs, links and the "ignored filters" banner.
        "history, hostile query": (f"/calls/?search={IMG}&status={SCRIPT}&direction=%22%3E{IMG}", IMG),
    }
    from django.urls import NoReverseMatch, reverse

    try:
        pages["webhook log"] = (reverse("webhooks:log"), f"evt_{IMG}")
        pages["webhook event"] = (reverse("webhooks:log_detail", args=[site.webhook_event_pk]), IMG, SCRIPT)
        pages["webhook log, hostile query"] = (f"{reverse('webhooks:log')}?type={SCRIPT}&outcome={IMG}",)
    except NoReverseMatch:
        pass  # no webhook log in this build
    try:
        pages["stats"] = (reverse("stats:overview") + f"?period={SCRIPT}",)
    except NoReverseMatch:
        pass
    for name, (path, *visible) in pages.items():
        page.goto(site.base + path)
        assert_inert(page, name, *visible)
        if name == "history, hostile query":  # the search still found the hostile name
            assert page.locator("tr.call-row").count() == 1

    # An htmx swap inserts server HTML with innerHTML: search for the payload in place.
    page.goto(f"{site.base}/calls/")
    page.fill("#searchbar", IMG)
    page.wait_for_url(re.compile(r"search="))
    page.wait_for_selector("tr.call-row")
    assert_inert(page, "history after an htmx search", IMG)

    # A recording URL becomes a link and an <audio>: a javascript: one would run when followed,
    # so only http(s) URLs are shown.
    page.goto(f"{site.base}/calls/{site.call_id}/")
    assert page.locator("#recording").count() == 0
    assert page.locator('a[href^="javascript:"], [src^="javascript:"]').count() == 0

    # Typed into the form, shown on the review page, and back in the form after Edit.
    page.goto(f"{site.base}/calls/new/")
    page.fill("#id_customer_phone", "0803 123 4560")
    page.fill("#id_customer_name", IMG)
    page.fill("#id_purpose", "order_confirmation")
    page.fill("#id_context", SCRIPT)
    page.click("button[value=review]")
    page.wait_for_selector("#call-summary")
    assert_inert(page, "review", IMG, SCRIPT)
    page.click("button[value=edit]")
    page.wait_for_selector("#id_customer_name")
    assert_inert(page, "form after edit")
    assert page.input_value("#id_customer_name") == IMG
    assert page.input_value("#id_context") == SCRIPT
