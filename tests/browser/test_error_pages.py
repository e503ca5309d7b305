"""Error pages in a real browser: a failed htmx request becomes a banner in the page's error area
(and the next success clears it), and the refused-form page's Back button returns to the form."""

import re

from django.http import HttpResponse

from voxdash.calls import views as calls_views
from voxdash.directory.models import DoNotCallEntry

from .conftest import sign_in


def test_a_failed_htmx_request_shows_a_banner_where_the_person_looks(page, live_vox, viewer, monkeypatch):
    base = live_vox.url
    sign_in(page, base, "vera", "pw-vera-123")
    page.goto(f"{base}/calls/")
    assert page.locator("tr.call-row").count() == 20
    area = page.locator("#request-error")

    def broken(**kwargs):
        raise RuntimeError("the history broke")

    monkeypatch.setattr(calls_views, "call_history", broken)
    with page.expect_response(re.compile(r"/calls/\?search=anyone")) as answer:
        page.fill("#searchbar", "anyone")
    request_id = answer.value.headers["x-request-id"]
    banner = area.locator(".banner-error[role=alert]")
    banner.wait_for()
    assert banner.inner_text().startswith("Something went wrong. voxdash failed to answer this request.")
    assert f"Request id: {request_id}" in banner.inner_text()
    # The results and the address are the page's still: nothing was swapped or pushed but the banner.
    assert page.locator("tr.call-row").count() == 20 and page.url == f"{base}/calls/"

    monkeypatch.undo()
    page.fill("#searchbar", "zzzz-nobody")
    page.wait_for_selector("text=No calls match these filters")
    assert area.inner_html() == ""  # the form that failed succeeded: its banner is gone

    # An answer that is not one of voxdash's error pages (a proxy's 502) still says something.
    monkeypatch.setattr(calls_views, "render", lambda *a, **k: HttpResponse("<h1>502</h1>", status=502))
    page.fill("#searchbar", "someone")
    banner.wait_for()
    assert (
        banner.inner_text() == "voxdash answered 502 Bad Gateway. Try again in a moment, or reload the page."
    )
    # The browser's and htmx's own console lines for each failed answer; no script failed.
    expected = ("Failed to load resource", "Response Status Error Code")
    assert [error for error in page.js_errors if not error.startswith(expected)] == []


def test_a_refused_form_offers_the_way_back_and_did_nothing(page, live_vox, caller):
    base = live_vox.url
    sign_in(page, base, "cal", "pw-cal-123")
    page.goto(f"{base}/dnc/")
    page.fill("#id_phone", "+2348099999999")
    page.context.clear_cookies(name="csrftoken")  # as a browser blocking or clearing cookies would
    page.click("#dnc-add button[type=submit]")
    page.wait_for_selector("h1:text('The form was refused')")
    assert "Most likely your browser did not send voxdash's cookies" in page.inner_text("#content")
    assert not DoNotCallEntry.objects.exists()

    back = page.locator("button[data-history-back]")
    assert back.is_visible()  # shown by voxdash.js; without JavaScript the text names the Back button
    back.click()
    page.wait_for_url(f"{base}/dnc/")
