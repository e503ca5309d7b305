"""One pager for every list (templates/includes/pager.html): one context name, the admin's elided range."""

import re

from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import QueryDict
from django.urls import reverse

from tests.webhooks.conftest import call_data, event
from voxdash.lib.paging import Pager, pager
from voxdash.placements.models import PlacedCall
from voxdash.webhooks.models import WebhookEvent


def pager_html(body: str) -> str:
    return re.search(r'<nav class="paginator"[^>]*>.*?</nav>', body, re.DOTALL).group(0)


def test_the_history_s_pager(viewer_client, simulator):
    response = viewer_client.get(reverse("calls:list"), {"page": 7, "status": "completed"})
    pager = response.context["pager"]
    assert (
        isinstance(pager, Pager) and pager.number == 7 and pager.size == 20 and pager.sizes == (20, 50, 100)
    )
    nav = pager_html(response.content.decode())
    assert 'hx-boost="true"' in nav and "hx-get" not in nav and "hx-target" not in nav
    assert 'aria-current="page">7<' in nav and "status=completed" in nav and "per page" in nav


def test_the_placed_calls_pager(client, caller, vox_settings):
    PlacedCall.objects.bulk_create(
        PlacedCall(username="cal", payload={}, payload_fingerprint="x", customer_phone="+2348030000000")
        for _ in range(50 * 12)
    )
    client.force_login(caller)
    response = client.get(reverse("placements:list"), {"page": 9})
    assert response.context["pager"].page_range == [1, 2, None, 7, 8, 9, 10, 11, 12]
    nav = pager_html(response.content.decode())
    assert 'aria-current="page">9<' in nav and "per page" not in nav


def test_the_webhook_log_s_pager_keeps_its_shorter_ends(client, db, vox_settings):
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            event_id=f"evt_{n:04}",
            event_type="vox.call.started",
            raw_body="{}",
            payload=event("vox.call.started", call_data(f"call_{n}")),
        )
        for n in range(50 * 20)
    )
    client.force_login(User.objects.create_user("stan", password="pw-stan-123", is_staff=True))
    response = client.get(reverse("webhooks:log"), {"page": 10})
    assert response.context["pager"].page_range == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert 'aria-current="page">10<' in pager_html(response.content.decode())


def test_one_page_has_no_pager(client, caller, vox_settings):
    client.force_login(caller)
    response = client.get(reverse("placements:list"))
    assert response.context["pager"].page_range == [] and 'class="paginator"' not in response.content.decode()


def test_an_open_ended_pager_offers_no_last_page():
    capped = pager(Paginator(range(10_000), 20), 7, open_ended=True, query=QueryDict("status=failed&page=7"))
    assert capped.page_range == [1, 2, None, 5, 6, 7, 8, 9, None]
    assert capped.next.number == 8 and capped.next.href == "?status=failed&page=8"
    assert [link.href for link in capped.links][:2] == ["?status=failed&page=1", "?status=failed&page=2"]
    # Its last known page: "Next" only when more follow.
    assert pager(Paginator(range(10_000), 20), 500, open_ended=True, has_more=False).next is None
    assert pager(Paginator(range(10_000), 20), 500, open_ended=True, has_more=True).next.number == 501
    # An exact count's pager is as it was: its last pages, no "Next".
    exact = pager(Paginator(range(10_000), 20), 7)
    assert exact.page_range[-2:] == [499, 500] and exact.next is None
    assert all(link.href == "" for link in exact.links)  # no query: the template writes them
