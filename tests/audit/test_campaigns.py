"""Campaigns created, started, paused, resumed and cancelled through their pages; the breaker's pause."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.campaigns.files import excel_csv
from tests.campaigns.pages import make_campaign, phone
from tests.campaigns.test_drafts import create
from tests.campaigns.test_views_new import form_values, upload
from voxdash.audit.log import Action
from voxdash.campaigns.models import Campaign
from voxdash.campaigns.running import campaign_breaker_trip

from .conftest import ADDRESS, entries, rows_of


@pytest.fixture
def caller_in(caller, vox_settings) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(caller)
    return client


def page(campaign: Campaign) -> str:
    return reverse("campaigns:detail", kwargs={"pk": campaign.pk})


def test_creating_a_campaign_is_recorded_with_its_rows_and_file(caller_in, simulator, auditor):
    new = reverse("campaigns:new")
    bad = {**form_values(caller_in), "file": upload("mobile,name\r\n+2348031234561,Ada\r\n", name="bad.csv")}
    assert caller_in.post(new, bad).status_code == 200  # refused on the form: nothing made, nothing recorded
    assert caller_in.post(new, {**form_values(caller_in), "file": upload()}).status_code == 302
    campaign = Campaign.objects.get()
    [entry] = entries(Action.CAMPAIGN_CREATED)
    assert (entry.username, entry.remote_addr, entry.object_id, entry.object_url) == (
        "cal",
        ADDRESS,
        str(campaign.pk),
        page(campaign),
    )
    assert rows_of(auditor, Action.CAMPAIGN_CREATED) == [
        ["cal", ADDRESS, "Created a campaign", "December reminders campaign", "3 rows; file december.csv"]
    ]


def test_each_action_is_recorded_once_and_a_press_that_changed_nothing_is_not(caller_in, caller, auditor):
    campaign = make_campaign(user=caller, state=Campaign.State.DRAFT, rows=[(phone(1), "Ada", "pending")])
    for action in ("start", "start", "pause", "pause", "resume", "cancel", "cancel"):
        assert caller_in.post(page(campaign), {"action": action}).status_code == 302
    assert [(e.action, e.username, e.remote_addr) for e in entries(Action.CAMPAIGN_STARTED)] == [
        (Action.CAMPAIGN_STARTED, "cal", ADDRESS)
    ]
    assert len(entries(Action.CAMPAIGN_PAUSED)) == 1 and len(entries(Action.CAMPAIGN_RESUMED)) == 1
    [cancelled] = entries(Action.CAMPAIGN_CANCELLED)
    assert cancelled.detail == {"not_dialled": 1}  # its one pending row
    assert rows_of(auditor, Action.CAMPAIGN_CANCELLED) == [
        ["cal", ADDRESS, "Cancelled a campaign", "December reminders campaign", "1 row not dialled"]
    ]


def test_a_viewer_cannot_act_and_nothing_is_recorded(client, viewer, caller, vox_settings):
    campaign = make_campaign(user=caller, state=Campaign.State.DRAFT, rows=[(phone(1), "Ada", "pending")])
    client.force_login(viewer)
    assert client.post(page(campaign), {"action": "start"}).status_code == 403
    assert entries(Action.CAMPAIGN_STARTED) == []


def test_the_breakers_pause_is_voxdashs_and_says_why_beside_the_persons_resume(caller_in, caller, auditor):
    campaign = make_campaign(user=caller, rows=[(phone(1), "Ada", "pending")])
    assert campaign_breaker_trip(campaign_id=campaign.pk, reason="Vox refused voxdash's key (HTTP 401).")
    assert caller_in.post(page(campaign), {"action": "resume"}).status_code == 302
    [paused] = entries(Action.CAMPAIGN_PAUSED)
    assert (paused.username, paused.user, paused.via, paused.remote_addr) == ("", None, "worker", "")
    rows = rows_of(auditor, Action.CAMPAIGN_PAUSED)
    assert rows == [
        [
            "voxdash",
            "—",
            "Paused a campaign",
            "December reminders campaign",
            "reason: Vox refused voxdash's key (HTTP 401).",
        ]
    ]
    [resumed] = rows_of(auditor, Action.CAMPAIGN_RESUMED)
    assert resumed[0] == "cal" and "paused for: Vox refused voxdash's key" in resumed[-1]


def test_a_campaign_made_by_the_service_alone_is_recorded_as_its_creators(caller, db):
    # No page and no request (the demo's seed, a future API): the creator, without an address.
    campaign = create(caller, excel_csv([(phone(1), "Ada", "INV-1", "5000")]))
    [entry] = entries(Action.CAMPAIGN_CREATED)
    assert (entry.username, entry.remote_addr, entry.via, entry.object_url) == (
        "cal",
        "",
        "worker",
        page(campaign),
    )
