"""The exact count behind a capped one (views.call_count): the history page shows "N+" at once
and asks for the exact figure after it is shown; without JavaScript the capped count stays."""

import re

import pytest
from django.urls import reverse

from voxdash.calls import mirror_query
from voxdash.calls.models import Call

LIST, COUNT = reverse("calls:list"), reverse("calls:count")
# A filter only the mirror can apply, so the page is the mirror's (matches every call).
MIRROR_ONLY = "created_after=2000-01-01"


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(mirror_query, "MIRROR_COUNT_CAP", 10)


def exact_count_url(body: str) -> str | None:
    found = re.search(r'<span class="exact-count" data-hx-get="([^"]+)"', body)
    return found.group(1).replace("&amp;", "&") if found else None


def test_a_capped_count_asks_for_the_exact_one_which_matches_the_filters(viewer_client, synced, small_cap):
    body = viewer_client.get(f"{LIST}?{MIRROR_ONLY}&status=completed&page=2").content.decode()
    assert "10+ calls" in body
    url = exact_count_url(body)
    # The same filters, without the page: the count is the same whatever page is shown.
    assert url is not None and url.startswith(COUNT) and "status=completed" in url and "page=" not in url
    # It swaps itself only, and never into the address bar (the list's container would push it).
    tag = body[body.index('<span class="exact-count"') :].split(">", 1)[0]
    assert 'data-hx-target="this"' in tag and 'data-hx-push-url="false"' in tag
    answer = viewer_client.get(url, HTTP_HX_REQUEST="true")
    completed = Call.objects.filter(status="completed").count()
    assert completed > 10
    assert answer.content.decode() == f'<span class="exact-count">({completed:,} in all)</span>'


def test_an_exact_count_asks_for_nothing(viewer_client, synced):
    body = viewer_client.get(f"{LIST}?{MIRROR_ONLY}").content.decode()
    assert f"{Call.objects.count()} calls" in body and exact_count_url(body) is None


def test_bad_filters_are_dropped_as_on_the_page(viewer_client, synced):
    answer = viewer_client.get(f"{COUNT}?status=NOT+A+STATUS&duration_min=x", HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert f"({Call.objects.count()} in all)" in answer.content.decode()


def test_signed_out_it_sends_to_the_sign_in_page(client, synced):
    assert client.get(COUNT).status_code == 302


def test_opened_as_a_page_it_sends_to_the_history_of_those_filters(viewer_client, synced):
    answer = viewer_client.get(f"{COUNT}?status=completed&created_after=2000-01-01")
    assert answer.status_code == 302
    assert answer["Location"] == f"{LIST}?status=completed&created_after=2000-01-01"
