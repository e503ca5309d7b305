"""/campaigns/: every campaign with its state, progress, who made it and when; paged."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from voxdash.accounts.models import Profile
from voxdash.campaigns.models import Campaign

from .pages import State, make_campaign, phone

URL = reverse("campaigns:list")


@pytest.fixture(autouse=True)
def _vox(vox_settings):
    """The header asks Vox who it is on every page: the simulator answers."""


def test_the_list_shows_name_state_progress_creator_and_times(client, viewer, caller):
    client.force_login(viewer)
    Profile.objects.create(user=viewer, time_zone="Asia/Tokyo")
    rows = [
        (phone(1), "Ada", State.COMPLETED),
        (phone(2), "Bola", State.NO_ANSWER),
        (phone(3), "", State.INVALID),
    ]
    running = make_campaign(user=caller, name="Invoices", rows=[*rows, (phone(4), "Chi", State.PENDING)])
    finished = make_campaign(user=caller, name="Survey", state=Campaign.State.FINISHED, rows=rows)
    Campaign.objects.filter(pk=finished.pk).update(
        created_at=datetime(2026, 11, 30, 23, 15, tzinfo=UTC),
        finished_at=datetime(2026, 12, 1, 1, 5, tzinfo=UTC),
    )

    body = client.get(URL).content.decode()
    assert f'href="{reverse("campaigns:detail", kwargs={"pk": running.pk})}">Invoices</a>' in body
    assert "3 of 4 rows done, 75%" in body and '<progress max="4" value="3"' in body
    assert "3 of 3 rows done, 100%" in body and '<progress max="3" value="3"' in body
    assert ">Running<" in body and ">Finished<" in body and ">cal<" in body
    # In the reader's own time zone (Tokyo, UTC+9), as every page writes times.
    assert "1 Dec 2026, 08:15" in body and "1 Dec 2026, 10:05" in body


def test_only_callers_get_the_new_campaign_link(client, viewer, caller):
    new = f'href="{reverse("campaigns:new")}"'
    client.force_login(viewer)
    assert new not in client.get(URL).content.decode()
    client.force_login(caller)
    assert new in client.get(URL).content.decode()


def test_an_empty_list_says_so(client, caller):
    client.force_login(caller)
    assert "No campaigns yet" in client.get(URL).content.decode()


def test_the_list_is_paged_with_the_shared_pager_newest_first(client, viewer):
    client.force_login(viewer)
    for n in range(30):
        make_campaign(name=f"Campaign {n:02}", rows=[(phone(n), "", State.PENDING)])
    first = client.get(URL).content.decode()
    assert "Campaign 29" in first and "Campaign 05" in first and "Campaign 04" not in first
    assert 'class="paginator"' in first and 'href="?page=2"' in first
    second = client.get(URL, {"page": 2}).content.decode()
    assert "Campaign 04" in second and "Campaign 00" in second and "Campaign 05" not in second


def _queries(client) -> int:
    client.get(URL)  # the first page of a session also stores the session and the connection status
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_progress_of_a_page_of_campaigns_is_one_query_not_one_per_campaign(client, viewer):
    client.force_login(viewer)
    make_campaign(rows=[(phone(1), "", State.PENDING)])
    few = _queries(client)
    for n in range(10):
        make_campaign(rows=[(phone(n), "", State.COMPLETED), (phone(n + 50), "", State.BUSY)])
    assert _queries(client) == few


def test_a_draft_says_how_many_rows_it_will_dial(client, viewer):
    client.force_login(viewer)
    make_campaign(state=Campaign.State.DRAFT, rows=[(phone(1), "", State.PENDING), ("12", "", State.INVALID)])
    body = client.get(URL).content.decode()
    assert (
        re.search(r">Draft<", body)
        and "2 rows, 1 to dial" in body
        and "rows done" not in body
        and "<progress" not in body
    )


def test_the_campaigns_are_read_without_their_settings_or_file(client, viewer):
    client.force_login(viewer)
    make_campaign(name="Invoices", rows=[(phone(1), "", State.PENDING)])
    client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        assert "Invoices" in client.get(URL).content.decode()
    [select] = [
        q["sql"] for q in queries if 'FROM "campaigns_campaign"' in q["sql"] and "COUNT(" not in q["sql"]
    ]
    assert '"name"' in select and '"state"' in select
    for column in ("context_template", "columns", "file_name", "pause_reason"):
        assert f'"{column}"' not in select
