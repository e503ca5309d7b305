"""CSV exports read customers' data in bulk: the calls export (with its filters) and a campaign's rows."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.campaigns.pages import make_campaign, phone
from voxdash.audit.log import Action

from .conftest import ADDRESS, entries, rows_of


@pytest.fixture
def viewer_in(viewer, vox_settings) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(viewer)
    return client


def test_the_calls_export_is_recorded_with_the_filters_it_applied(viewer_in, auditor):
    params = {"status": "failed", "created_after": "2026-11-01", "duration_min": "oops", "page": "3"}
    response = viewer_in.get(reverse("calls:export"), params)
    assert response.status_code == 200 and response.streaming
    b"".join(response.streaming_content)
    [exported] = entries(Action.CALLS_EXPORTED)
    # The bad value was dropped, as the file dropped it; the page is no filter of the export.
    assert exported.detail == {"filters": {"status": "failed", "created_after": "2026-11-01"}}
    assert (exported.username, exported.remote_addr) == ("vera", ADDRESS)
    assert rows_of(auditor, Action.CALLS_EXPORTED) == [
        ["vera", ADDRESS, "Exported calls (CSV)", "—", "filters: created_after=2026-11-01, status=failed"]
    ]
    viewer_in.get(reverse("calls:export"))
    assert rows_of(auditor, Action.CALLS_EXPORTED)[0][-1] == "no filters (everything)"


def test_a_campaigns_rows_csv_is_recorded_on_the_campaign(viewer_in, caller, auditor):
    campaign = make_campaign(user=caller, rows=[(phone(1), "Ada Obi", "pending")])
    response = viewer_in.get(reverse("campaigns:rows_csv", kwargs={"pk": campaign.pk}))
    assert response.status_code == 200 and "Ada Obi" in b"".join(response.streaming_content).decode()
    assert viewer_in.get(reverse("campaigns:rows_csv", kwargs={"pk": 999_999})).status_code == 404
    [exported] = entries(Action.CAMPAIGN_ROWS_EXPORTED)
    assert (exported.username, exported.object_id) == ("vera", str(campaign.pk))
    assert rows_of(auditor, Action.CAMPAIGN_ROWS_EXPORTED) == [
        ["vera", ADDRESS, "Exported a campaign's rows (CSV)", "December reminders campaign", ""]
    ]
