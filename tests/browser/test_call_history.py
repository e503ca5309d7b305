"""A person browsing the call history, with JavaScript on (htmx) and off (plain links and forms)."""

import re

import pytest

from .conftest import sign_in


@pytest.fixture
def staff(viewer):
    return ("vera", "pw-vera-123")


def test_filter_page_and_search_with_htmx(page, live_vox, staff):
    base = live_vox.url
    sign_in(page, base, *staff)
    page.click("text=Call history")
    page.wait_for_url(f"{base}/calls/")
    assert page.locator("tr.call-row").count() == 20
    # A marker that a full page load would wipe: htmx must update the results in place.
    page.evaluate("window.stillTheSameDocument = true")

    page.click("#changelist-filter >> text=Outbound")
    page.wait_for_url(re.compile(r"direction=outbound"))
    page.wait_for_selector("#changelist-filter li.selected >> text=Outbound")
    directions = page.locator("tr.call-row td:nth-child(4)").all_inner_texts()
    assert directions and set(directions) == {"Outbound"}

    page.click("nav.paginator >> text=2")
    page.wait_for_url(re.compile(r"page=2"))
    assert "direction=outbound" in page.url
    page.wait_for_selector('nav.paginator .this-page:text("2")')

    page.fill("#searchbar", "zzzz-nobody")
    page.wait_for_url(re.compile(r"search=zzzz-nobody"))
    page.wait_for_selector("text=No calls match these filters")
    assert "direction=outbound" in page.url and "page=" not in page.url

    assert page.evaluate("window.stillTheSameDocument") is True
    assert page.js_errors == []

    page.go_back()
    page.wait_for_url(re.compile(r"page=2"))
    page.wait_for_selector('nav.paginator .this-page:text("2")')


def test_same_flow_without_javascript(page_without_js, live_vox, staff):
    page = page_without_js
    base = live_vox.url
    sign_in(page, base, *staff)
    page.goto(f"{base}/calls/")
    page.click("#changelist-filter >> text=Inbound")
    page.wait_for_url(re.compile(r"direction=inbound"))
    directions = page.locator("tr.call-row td:nth-child(4)").all_inner_texts()
    assert directions and set(directions) == {"Inbound"}

    page.click("nav.paginator >> text=2")
    page.wait_for_url(re.compile(r"page=2"))
    assert "direction=inbound" in page.url

    page.fill("#searchbar", "zzzz-nobody")
    page.press("#searchbar", "Enter")
    page.wait_for_url(re.compile(r"search=zzzz-nobody"))
    assert "direction=inbound" in page.url
    assert page.locator("text=No calls match these filters").is_visible()


def test_usable_on_a_narrow_screen(browser, live_vox, staff):
    """A phone-sized window: every menu entry on screen, and no sideways scrolling of the page."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, live_vox.url, *staff)
        page.goto(f"{live_vox.url}/calls/?status=completed")
        assert page.locator("tr.call-row").count() > 0
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        for link in page.locator("nav.voxdash-nav a").all():
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    finally:
        context.close()


def test_a_capped_count_is_followed_by_the_exact_one(page, live_vox, staff, monkeypatch):
    from voxdash.calls import mirror_query
    from voxdash.calls.models import Call
    from voxdash.calls.sync import calls_sync

    calls_sync(full=True)
    monkeypatch.setattr(mirror_query, "MIRROR_COUNT_CAP", 10)  # the live server runs in this process
    sign_in(page, live_vox.url, *staff)
    page.goto(f"{live_vox.url}/calls/?created_after=2000-01-01")  # a filter only the mirror knows
    count = page.locator("#result-count")
    page.wait_for_selector(f"#result-count >> text=({Call.objects.count():,} in all)")
    assert "10+ calls" in count.inner_text()
    assert page.url.endswith("/calls/?created_after=2000-01-01")  # the count never went to the address bar
    assert page.js_errors == []
