"""The counts by state the pages show come from CampaignRowCount, which triggers keep beside the
rows: they equal a direct count after every kind of write (the ORM's bulk and conditional updates,
raw SQL, deletes), and the live section's poll and the list read none of a campaign's rows.

(Every other test in tests/campaigns checks the counts too, after it ran: conftest.py.)"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from voxdash.campaigns import running
from voxdash.campaigns.models import Campaign, CampaignRow, CampaignRowCount
from voxdash.campaigns.progress import campaign_counts

from .conftest import counts_kept_and_direct
from .pages import HTMX, State, make_campaign, phone, placed_attempt

ROWS_TABLE = '"campaigns_campaignrow"'  # the rows themselves (the counts' table has a longer name)


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is on every page: the simulator answers."""


def _campaign(n: int = 12, **fields) -> Campaign:
    states = [State.PENDING, State.COMPLETED, State.NO_ANSWER, State.INVALID]
    return make_campaign(rows=[(phone(i), f"Name {i}", states[i % 4]) for i in range(n)], **fields)


def _exact() -> dict:
    kept, direct = counts_kept_and_direct()
    assert kept == direct
    return kept


@pytest.mark.django_db
def test_counts_follow_inserts_bulk_and_conditional_updates_raw_sql_and_deletes():
    campaign, other = _campaign(), _campaign(5)
    assert campaign_counts(campaign_ids=[campaign.pk])[campaign.pk] == {
        "pending": 3,
        "completed": 3,
        "no_answer": 3,
        "invalid": 3,
    }
    rows = CampaignRow.objects.filter(campaign=campaign)
    rows.filter(state=State.PENDING).update(state=State.DIALING)  # one statement, three rows
    _exact()
    first = rows.filter(state=State.DIALING).order_by("number").first()
    assert rows.filter(pk=first.pk, state=State.DIALING).update(state=State.IN_FLIGHT) == 1
    assert rows.filter(pk=first.pk, state=State.DIALING).update(state=State.COMPLETED) == 0  # no longer
    rows.update(next_attempt_at=None)  # no state changes: no count changes
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE campaigns_campaignrow SET state = %s WHERE campaign_id = %s AND state = %s",
            [State.DUPLICATE, campaign.pk, State.INVALID],
        )
    rows.filter(number=3).delete()  # a completed one
    kept = _exact()
    assert kept[campaign.pk, "in_flight"] == 1 and kept[campaign.pk, "duplicate"] == 3
    assert kept[campaign.pk, "completed"] == 2
    assert (campaign.pk, "invalid") not in kept  # a state with no rows left counts 0
    assert campaign_counts(campaign_ids=[other.pk])[other.pk] == {
        "pending": 2,
        "completed": 1,
        "no_answer": 1,
        "invalid": 1,
    }


@pytest.mark.django_db
def test_cancel_counts_the_pending_rows_as_cancelled(caller):
    campaign = _campaign()
    result = running.campaign_act(campaign_id=campaign.pk, action=running.CANCEL, user=caller)
    assert result.done
    counts = campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
    assert counts["cancelled"] == 3 and "pending" not in counts
    _exact()


@pytest.mark.django_db
def test_a_deleted_campaign_leaves_no_counts_whatever_the_order_of_deletes():
    campaign, other = _campaign(), _campaign(4)
    CampaignRowCount.objects.filter(campaign=campaign).delete()  # the counts first, as Django may
    CampaignRow.objects.filter(campaign=campaign).delete()  # …then the rows: nothing brought back
    assert not CampaignRowCount.objects.filter(campaign=campaign).exists()
    other.delete()  # Django's own cascade
    assert not CampaignRowCount.objects.exists()
    _exact()


@pytest.mark.django_db
def test_the_page_shows_the_same_counts_as_a_direct_count(client, viewer):
    client.force_login(viewer)
    campaign = _campaign(40)
    CampaignRow.objects.filter(campaign=campaign, number__lt=10).update(state=State.BUSY)
    body = client.get(reverse("campaigns:detail", kwargs={"pk": campaign.pk})).content.decode()
    shown = dict(re.findall(r'data-state="(\w+)">\s*<a [^>]*><span class="tally-count">(\d+)</span>', body))
    direct = {
        state: str(CampaignRow.objects.filter(campaign=campaign, state=state).count()) for state in shown
    }
    assert shown == direct and shown["busy"] == "8"
    assert "All (40)" in body


@pytest.mark.django_db
def test_the_poll_and_the_list_read_none_of_the_rows(client, viewer):
    client.force_login(viewer)
    campaign = _campaign(30)
    page = reverse("campaigns:detail", kwargs={"pk": campaign.pk})
    for url, headers in ((page, HTMX), (reverse("campaigns:list"), {})):
        client.get(url, headers=headers)  # the session's first page stores more
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, headers=headers).status_code == 200
        assert not [q["sql"] for q in queries if ROWS_TABLE in q["sql"]], url


# The queries each asks, signed in (the session and permissions cost none: cached): the page
# 7 (the user, the campaign, the counts, the dial rate, the events, a page of rows, their
# attempts' placed calls), its poll 5 (no rows), the rows table alone 5 (no rate, no events),
# the list 4 (the user, the campaigns' count and page, their counts).
CEILINGS = {"page": 7, "poll": 5, "rows": 5, "list": 4}


@pytest.mark.django_db
def test_query_ceilings_of_the_page_its_poll_its_rows_table_and_the_list(client, viewer):
    client.force_login(viewer)
    campaign = make_campaign(
        rows=[(phone(n), "", State.COMPLETED, {"attempts": 2}) for n in range(60)]
        + [(phone(n + 100), "", State.PENDING) for n in range(60)]
    )
    for number in (54, 55, 56):  # on the second page
        placed_attempt(campaign, number, 1)
    page = reverse("campaigns:detail", kwargs={"pk": campaign.pk})
    asked = {}
    for name, url, headers in (
        ("page", f"{page}?page=2", {}),
        ("poll", page, HTMX),
        ("rows", f"{page}?state=completed&page=2", {**HTMX, "HX-Target": "campaign-rows"}),
        ("list", reverse("campaigns:list"), {}),
    ):
        client.get(url, headers=headers)  # the session's first page stores more
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, headers=headers)
        assert response.status_code == 200
        asked[name] = len(queries)
    assert {name: n for name, n in asked.items() if n > CEILINGS[name]} == {}
