"""/campaigns/new/: upload a list and its settings, get a draft; a bad file keeps everything else."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow
from voxdash.placements.models import PlacedCall

URL = reverse("campaigns:new")
CSV = (
    "\ufeffcustomer_phone;customer_name;invoice;amount\r\n"  # Excel's: BOM, semicolons, CRLF
    "0803 123 4561;Ada Obi;INV-1;15,000\r\n"
    "+2348031234562;Bola Ade;INV-2;9,500\r\n"
    "12;Chi Eze;INV-3;1,000\r\n"
)


@pytest.fixture
def caller_in(client, caller, vox_settings):
    client.force_login(caller)
    return client


def upload(text: str = CSV, name: str = "december.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def form_values(client) -> dict:
    """What a person submits: the pickers' first usable choices plus typed values."""
    form = client.get(URL).context["form"]
    return {
        "name": "December reminders",
        "business_voice_number_id": form.fields["business_voice_number_id"].choices[0][0],
        "ai_agent_id": form.initial["ai_agent_id"],
        "purpose": "payment_reminder",
        "context": "Remind {customer_name} about invoice {invoice} for NGN {amount}.",
        "max_attempts": "3",
        "retry_after_minutes": "45",
        "window_start": "08:30",
        "window_end": "18:00",
        "window_days": ["mon", "wed", "fri"],
        "time_zone": "Africa/Lagos",
        "max_in_flight": "7",
    }


def test_the_form_is_a_multipart_upload_with_the_issues_field_names(caller_in, simulator):
    body = caller_in.get(URL).content.decode()
    assert 'enctype="multipart/form-data"' in body
    for name in (
        "name",
        "file",
        "business_voice_number_id",
        "ai_agent_id",
        "purpose",
        "context",
        "max_attempts",
        "retry_after_minutes",
        "window_start",
        "window_end",
        "window_days",
        "time_zone",
        "max_in_flight",
    ):
        assert f'name="{name}"' in body, name
    # The one-off form's pickers: the simulator's usable numbers and active agents.
    active_numbers = [
        n for n in simulator.store.list_numbers() if n["status"] == "active" and n["voiceCapable"]
    ]
    assert all(f'value="{n["id"]}"' in body for n in active_numbers)
    assert '<datalist id="purpose-suggestions">' in body and 'value="payment_reminder"' in body
    assert "{customer_name}" in body and "calling window" in body


def test_the_time_zone_defaults_to_the_users(client, caller, vox_settings):
    from voxdash.accounts.models import Profile

    Profile.objects.create(user=caller, time_zone="Europe/Berlin")
    client.force_login(caller)
    body = client.get(URL).content.decode()
    assert re.search(r'<option value="Europe/Berlin" selected>', body)


def test_a_valid_upload_makes_a_draft_and_shows_its_preview(caller_in, caller, simulator):
    values = form_values(caller_in)
    response = caller_in.post(URL, {**values, "file": upload()}, follow=True)
    campaign = Campaign.objects.get()
    assert response.redirect_chain == [(reverse("campaigns:detail", kwargs={"pk": campaign.pk}), 302)]
    assert campaign.state == Campaign.State.DRAFT and campaign.created_by == caller
    assert (campaign.max_attempts, campaign.retry_after_minutes, campaign.max_in_flight) == (3, 45, 7)
    assert campaign.window_days == "mon,wed,fri" and campaign.file_name == "december.csv"
    assert CampaignRow.objects.filter(campaign=campaign).count() == 3
    body = response.content.decode()
    assert "Draft saved" in body and 'id="campaign-preview"' in body
    assert "Remind Ada Obi about invoice INV-1 for NGN 15,000." in body
    assert "Mon, Wed, Fri 08:30-18:00 (Africa/Lagos)" in body
    assert CampaignEvent.objects.filter(campaign=campaign, action="created").count() == 1
    assert simulator.stats()["dialed"] == 0 and not PlacedCall.objects.exists()  # a draft dials nothing


def test_a_file_error_is_shown_on_the_file_field_and_every_other_value_is_kept(caller_in):
    values = form_values(caller_in)
    bad = upload("mobile,full_name\r\n+2348031234561,Ada\r\n", name="contacts.csv")
    response = caller_in.post(URL, {**values, "file": bad})
    assert response.status_code == 200 and not Campaign.objects.exists()
    form = response.context["form"]
    message = " ".join(form.errors["file"])
    assert "mobile" in message and "full_name" in message  # it names the columns it found
    body = response.content.decode()
    file_row = body[body.index("field-file") : body.index("field-file") + 2000]
    assert "mobile" in file_row and "errorlist" in file_row
    assert "choose the file again" in body.lower()
    for name, value in values.items():
        assert form[name].value() == value, name
    assert 'value="December reminders"' in body and "Remind {customer_name} about invoice" in body


def test_other_bad_values_are_marked_and_the_file_is_asked_for_again(caller_in):
    values = {**form_values(caller_in), "max_attempts": "9", "window_days": []}
    response = caller_in.post(URL, {**values, "file": upload()})
    assert response.status_code == 200 and not Campaign.objects.exists()
    form = response.context["form"]
    assert "max_attempts" in form.errors and "window_days" in form.errors
    assert "choose the file again" in response.content.decode().lower()
    assert form["name"].value() == "December reminders"


def test_viewers_may_not_create_campaigns(client, viewer, vox_settings):
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"name": "x", "file": upload()})
    assert response.status_code == 403 and not Campaign.objects.exists()


def test_when_vox_is_down_the_pickers_come_from_the_local_copy_with_a_banner(caller_in, simulator):
    from voxdash.directory.sync import directory_sync
    from voxdash.vox import get_client

    directory_sync(client=get_client())
    simulator.faults.queue(503, count=50)
    body = caller_in.get(URL).content.decode()
    assert 'data-source="mirror"' in body and "come from the local copy" in body
    number = next(n for n in simulator.store.list_numbers() if n["status"] == "active" and n["voiceCapable"])
    assert f'value="{number["id"]}"' in body
