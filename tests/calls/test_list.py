"""The call history page at /calls/, against the simulator over HTTP."""

import re

import pytest
from django.urls import reverse

from vox_simulator import keys

URL = reverse("calls:list")


def rows(response) -> int:
    return response.content.decode().count('<tr class="call-row"')


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_first_page_newest_first(viewer_client, simulator):
    response = viewer_client.get(URL)
    assert response.status_code == 200
    page = response.context["history"]
    assert page.meta.total == 300 and page.meta.page == 1
    assert len(page.calls) == 20 and rows(response) == 20
    created = [call.created_at for call in page.calls]
    assert created == sorted(created, reverse=True)
    assert "300 calls" in response.content.decode()


@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_direction_filter(viewer_client, direction):
    history = viewer_client.get(URL, {"direction": direction}).context["history"]
    assert history.calls and {c.direction for c in history.calls} == {direction}
    assert history.meta.total < 300


@pytest.mark.parametrize("status", ["completed", "failed", "no_answer", "busy", "canceled", "queued"])
def test_status_filter(viewer_client, status):
    history = viewer_client.get(URL, {"status": status, "limit": 100}).context["history"]
    assert {c.status for c in history.calls} <= {status}
    assert history.meta.total == len([c for c in history.calls]) or history.meta.has_more


def test_filters_combine_and_stay_in_links(viewer_client):
    response = viewer_client.get(URL, {"direction": "outbound", "status": "completed"})
    history = response.context["history"]
    assert {(c.direction, c.status) for c in history.calls} == {("outbound", "completed")}
    body = response.content.decode()
    # The pager keeps the filters, so a page link is a bookmarkable view of the same list.
    page_two = re.search(r'href="(\?[^"]*page=2[^"]*)"', body).group(1)
    assert "direction=outbound" in page_two and "status=completed" in page_two


def test_search_by_name_with_accents(viewer_client):
    from voxdash.vox import get_client

    names = [c.customer_name for c in get_client().list_calls(limit=100).calls if c.customer_name]
    accented = next(n for n in names if not n.isascii())
    word = next(w for w in accented.split() if not w.isascii())
    history = viewer_client.get(URL, {"search": word}).context["history"]
    assert history.calls
    assert all(word.lower() in (c.customer_name or "").lower() for c in history.calls)
    assert accented in [c.customer_name for c in history.calls]


def test_search_by_phone(viewer_client):
    from voxdash.vox import get_client

    phone = get_client().list_calls().calls[0].customer_phone
    history = viewer_client.get(URL, {"search": phone}).context["history"]
    assert history.calls and {c.customer_phone for c in history.calls} == {phone}


def test_search_with_no_match_says_so(viewer_client):
    response = viewer_client.get(URL, {"search": "zzzz-nobody"})
    assert response.context["history"].meta.total == 0
    assert "No calls match these filters" in response.content.decode()


@pytest.mark.parametrize("limit", [20, 50, 100])
def test_page_sizes(viewer_client, limit):
    history = viewer_client.get(URL, {"limit": limit}).context["history"]
    assert len(history.calls) == limit and history.meta.per_page == limit


def test_last_page_and_elided_pager(viewer_client):
    response = viewer_client.get(URL, {"page": 15})
    history = response.context["history"]
    assert history.meta.page == 15 and len(history.calls) == 20 and not history.meta.has_more
    assert response.context["pager"].page_range == [1, 2, None, 13, 14, 15]
    assert 'aria-current="page">15<' in response.content.decode()


def test_page_past_the_end_offers_the_last_page(viewer_client):
    response = viewer_client.get(URL, {"page": 99})
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is no page 99" in body and "page=15" in body


@pytest.mark.parametrize(
    "params, field",
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-3"}, "page"),
        ({"limit": "1000"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"direction": "sideways"}, "direction"),
        ({"status": "<script>"}, "status"),
        ({"search": "x" * 101}, "search"),
    ],
)
def test_bad_parameters_get_a_message_and_the_rest_still_applies(viewer_client, params, field):
    response = viewer_client.get(URL, {**params, "direction": params.get("direction", "inbound")})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Some filters were ignored" in body and f"{field}:" in body
    assert "<script>" not in body
    history = response.context["history"]
    assert history.calls  # the valid filters still produced a list
    if field != "direction":
        assert {c.direction for c in history.calls} == {"inbound"}


def test_htmx_request_gets_only_the_results_partial(viewer_client):
    full = viewer_client.get(URL, {"status": "completed"})
    partial = viewer_client.get(URL, {"status": "completed"}, headers={"HX-Request": "true"})
    assert b"<html" in full.content and b"<html" not in partial.content
    assert b'id="result_list"' in partial.content
    # The filter panel and the search form's hidden filters are refreshed out of band.
    assert re.search(rb'<nav id="changelist-filter"[^>]*hx-swap-oob="true"', partial.content)
    assert b'id="search-carry" data-hx-swap-oob="true"' in partial.content
    assert b'name="status" value="completed"' in partial.content


def test_htmx_history_restore_gets_the_full_page(viewer_client):
    response = viewer_client.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert b"<html" in response.content


def test_identical_requests_share_one_api_call(viewer_client, simulator, caller, client):
    viewer_client.get(URL, {"status": "failed"})
    before = simulator.stats()["requests"].get("/v1/vox/calls", 0)
    viewer_client.get(URL, {"status": "failed"})
    client.force_login(caller)  # another user, same page
    client.get(URL, {"status": "failed"})
    assert simulator.stats()["requests"].get("/v1/vox/calls", 0) == before


@pytest.mark.parametrize(
    "fault, error_kind, text",
    [
        (lambda sim: sim.faults.queue(503, count=10), "VoxUnavailable", "Vox"),
        (lambda sim: sim.faults.queue(429, count=10, retry_after=60), "VoxRateLimited", "Try again in 60"),
        (
            lambda sim: sim.faults.queue(502, count=10, body="<html>Bad gateway</html>"),
            "VoxUnavailable",
            "Vox",
        ),
        (lambda sim: setattr(sim.faults, "latency_ms", 1500), "VoxTimeout", "Vox"),
        (lambda sim: sim.faults.reset_next(count=10), "VoxConnectionError", "Vox"),
    ],
)
def test_upstream_trouble_is_a_banner_not_an_error_page(
    viewer_client, simulator, settings, fault, error_kind, text
):
    from voxdash.vox import reset_client

    settings.VOX_READ_TIMEOUT = 0.5
    settings.VOX_MAX_RETRIES = 1
    reset_client()
    fault(simulator)
    response = viewer_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-error="{error_kind}"' in body and text in body
    assert "Traceback" not in body and keys.DEMO_KEY not in body


@pytest.mark.parametrize(
    "key, error_kind, text",
    [
        (keys.EXPIRED_KEY, "ExpiredApiKey", "expired"),
        (keys.PUBLISHABLE_KEY, "InvalidApiKey", "invalid"),
        (keys.NUMBERS_ONLY_KEY, "MissingScope", "vox:calls:read"),
    ],
)
def test_key_problems_are_explained(viewer_client, settings, key, error_kind, text):
    from voxdash.vox import reset_client

    settings.VOX_API_KEY = key
    reset_client()
    response = viewer_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-error="{error_kind}"' in body and text in body
    assert key not in body


def test_a_status_vox_invented_can_still_be_filtered(viewer_client, simulator):
    """The contract: show any other status as it comes. Its filter (e.g. from a stats bar) works."""
    response = viewer_client.get(URL, {"status": "voicemail"})
    body = response.content.decode()
    assert "Some filters were ignored" not in body
    assert response.context["filters"].status == "voicemail"
    assert "No calls match these filters" in body
    assert re.search(r'<li class="selected">\s*<a[^>]*>Voicemail</a>', body)


def test_the_placed_calls_pager_follows_the_page(client, caller, vox_settings):
    from voxdash.placements.models import PlacedCall

    PlacedCall.objects.bulk_create(
        PlacedCall(username="cal", payload={}, payload_fingerprint="x", customer_phone="+2348030000000")
        for _ in range(50 * 12)
    )
    client.force_login(caller)
    body = client.get(reverse("placements:list"), {"page": 9}).content.decode()
    assert 'aria-current="page">9<' in body
