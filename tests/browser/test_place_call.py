"""A Caller places a call end to end in a real browser and watches its status change."""

import re

import pytest

from vox_simulator import Simulator, keys

from .conftest import sign_in


@pytest.fixture
def lively_vox(live_server, settings):
    """A simulator whose calls move on by themselves, quickly."""
    from voxdash.vox import reset_client

    with Simulator(port=0, seed=1, calls=50, lifecycle_step_seconds=0.4) as sim:
        settings.VOX_API_BASE_URL = sim.base_url
        settings.VOX_API_KEY = keys.DEMO_KEY
        settings.VOX_LIST_CACHE_SECONDS = 0
        reset_client()
        yield live_server, sim
        reset_client()


def test_place_a_call_and_watch_it_complete(page, lively_vox, caller):
    live_server, sim = lively_vox
    base = live_server.url
    sign_in(page, base, "cal", "pw-cal-123")
    page.click("nav.voxdash-nav >> text=Place a call")
    page.wait_for_url(f"{base}/calls/new/")
    page.fill("#id_customer_phone", "0803 123 4560")
    page.fill("#id_customer_name", "Fúnmiláyọ̀ Adébáyọ̀")
    page.fill("#id_purpose", "order_confirmation")
    page.fill("#id_context", "Confirm order #1042 and the delivery window.")
    page.click("button[value=review]")
    page.wait_for_selector("text=Review the call")
    assert "+234 803 123 4560" in page.inner_text("#call-summary")

    page.click("#place-call-button")
    page.wait_for_url(re.compile(r"/calls/placed/[0-9a-f-]+/$"))
    assert page.locator(".messagelist").inner_text().startswith("Call queued")
    # The status panel polls until the call reaches its outcome.
    page.wait_for_selector('#placed-status-value[data-status="completed"]', timeout=20_000)
    assert sim.stats()["dialed"] == 1
    assert page.js_errors == []
