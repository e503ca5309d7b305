"""The new-campaign form (campaigns.forms.CampaignForm): its fields, defaults, bounds and what it
hands campaign_create. Numbers and agents come from the simulator, as the view gets them."""

from datetime import time

import pytest
from django.utils.datastructures import MultiValueDict

from voxdash.campaigns.drafts import campaign_create, campaign_preview
from voxdash.campaigns.forms import CampaignForm
from voxdash.directory import selectors as directory
from voxdash.lib.sheets import MAX_FILE_BYTES

from . import files

pytestmark = pytest.mark.django_db


@pytest.fixture
def pickers(vox_settings):
    return {"numbers": directory.voice_numbers().items, "agents": directory.agents().items}


def posted(pickers, **changes) -> dict:
    """What a person submits, as the browser sends it (strings; checkboxes as a list)."""
    form = CampaignForm(**pickers)
    data = {
        "name": "December reminders",
        "business_voice_number_id": form.fields["business_voice_number_id"].choices[0][0],
        "ai_agent_id": form.initial["ai_agent_id"],
        "purpose": "payment_reminder",
        "context": "Remind {customer_name} about invoice {invoice} for NGN {amount}.",
        "max_attempts": "3",
        "retry_after_minutes": "45",
        "window_start": "08:30",
        "window_end": "18:00",
        "window_days": ["sat", "mon", "wed"],
        "time_zone": "Africa/Lagos",
        "max_in_flight": "10",
    }
    data.update(changes)
    return data


def bound(pickers, data, upload=None, **kwargs) -> CampaignForm:
    query = MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in data.items()})
    uploads = MultiValueDict({"file": [upload or files.upload(files.excel_csv(files.ROWS))]})
    return CampaignForm(query, uploads, **pickers, **kwargs)


def test_an_empty_form_offers_the_issues_defaults_and_the_users_time_zone(pickers, simulator):
    form = CampaignForm(**pickers, time_zone="Africa/Lagos")
    initial = {name: form[name].value() for name in form.fields}
    assert initial["max_attempts"] == 1 and initial["retry_after_minutes"] == 60
    assert initial["window_start"] == time(9) and initial["window_end"] == time(17)
    assert initial["window_days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert initial["time_zone"] == "Africa/Lagos" and initial["max_in_flight"] == 5
    default_agent = next(a for a in simulator.store.list_agents() if a["isDefault"])
    assert initial["ai_agent_id"] == default_agent["id"]
    html = form.as_div()
    assert 'type="time" name="window_start" value="09:00"' in html
    assert html.count('type="checkbox" name="window_days"') == 7 and html.count("checked") == 5
    assert 'type="file" name="file"' in html and 'accept=".csv,.xlsx"' in html
    assert "enctype" not in html  # the template's <form> carries it: form.is_multipart() says so
    assert form.is_multipart()


def test_only_numbers_and_agents_that_can_call_are_offered(pickers, simulator):
    form = CampaignForm(**pickers)
    numbers = {n["id"]: n for n in simulator.store.list_numbers()}
    offered = [value for value, _ in form.fields["business_voice_number_id"].choices]
    assert offered and all(numbers[n]["status"] == "active" and numbers[n]["voiceCapable"] for n in offered)
    assert len(offered) < len(numbers)
    agents = {a["id"]: a for a in simulator.store.list_agents()}
    assert all(agents[a]["status"] == "active" for a, _ in form.fields["ai_agent_id"].choices)


def test_an_unknown_user_time_zone_falls_back_to_utc(pickers):
    assert CampaignForm(**pickers, time_zone="Mars/Olympus")["time_zone"].value() == "UTC"


def test_a_valid_form_gives_the_campaigns_field_values(pickers):
    data = posted(pickers)
    form = bound(pickers, data)
    assert form.is_valid(), form.errors
    assert form.campaign_fields() == {
        "name": "December reminders",
        "business_voice_number_id": data["business_voice_number_id"],
        "ai_agent_id": data["ai_agent_id"],
        "purpose": "payment_reminder",
        "context_template": "Remind {customer_name} about invoice {invoice} for NGN {amount}.",
        "max_attempts": 3,
        "retry_after_minutes": 45,
        "window_start": time(8, 30),
        "window_end": time(18),
        "window_days": "mon,wed,sat",  # in week order, whatever order the boxes came in
        "time_zone": "Africa/Lagos",
        "max_in_flight": 10,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_attempts", "0", "greater than or equal to 1"),
        ("max_attempts", "6", "less than or equal to 5"),
        ("retry_after_minutes", "-1", "greater than or equal to 0"),
        ("retry_after_minutes", "1441", "less than or equal to 1440"),
        ("max_in_flight", "0", "greater than or equal to 1"),
        ("max_in_flight", "201", "less than or equal to 200"),
        ("window_start", "9am", "Enter a valid time"),
        ("window_end", "25:00", "Enter a valid time"),
        ("window_days", [], "Pick at least one day to call on."),
        ("window_days", ["mon", "someday"], "not one of the available choices"),
        ("time_zone", "Mars/Olympus", "not one of the available choices"),
        ("business_voice_number_id", "num_unknown", "not one of the available choices"),
        ("name", "", "This field is required"),
        ("purpose", "p" * 65, "at most 64 characters"),
        ("context", "c" * 2001, "at most 2000 characters"),
        ("context", "Pay {invoice", "“{” without its “}”"),
        ("context", "Pay {}", "empty {}"),
    ],
)
def test_each_bound_is_enforced_with_a_message_on_its_field(pickers, field, value, message):
    form = bound(pickers, posted(pickers, **{field: value}))
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])
    assert set(form.errors) == {field}  # everything else typed stays valid


def test_the_bounds_themselves_are_accepted(pickers):
    for changes in (
        {"max_attempts": "1", "retry_after_minutes": "0", "max_in_flight": "1"},
        {"max_attempts": "5", "retry_after_minutes": "1440", "max_in_flight": "200"},
        {"window_start": "22:00", "window_end": "02:00"},  # runs past midnight
    ):
        assert bound(pickers, posted(pickers, **changes)).is_valid()


class _CountingUpload:
    """An upload of a given size that counts how often it is read."""

    def __init__(self, name, size):
        from django.core.files.uploadedfile import SimpleUploadedFile

        self.reads = 0
        self._upload = SimpleUploadedFile(name, b"phone\r\n0801\r\n")
        self._upload.size = size
        original = self._upload.file.read

        def read(*args):
            self.reads += 1
            return original(*args)

        self._upload.file.read = read

    @property
    def upload(self):
        return self._upload


def test_a_file_over_10_mb_is_refused_on_the_file_field_without_being_read(pickers):
    counting = _CountingUpload("customers.csv", MAX_FILE_BYTES + 300_000)
    form = bound(pickers, posted(pickers), counting.upload)
    assert not form.is_valid()
    assert form.errors["file"] == ["The file is 10.3 MB; the limit is 10 MB."]
    assert set(form.errors) == {"file"} and counting.reads == 0


def test_a_file_of_another_kind_is_refused_on_the_file_field(pickers):
    form = bound(pickers, posted(pickers), files.upload(b"%PDF-1.7", "customers.pdf"))
    assert not form.is_valid()
    assert "“customers.pdf” is not a CSV or .xlsx file" in form.errors["file"][0]


def test_a_valid_file_is_left_unread_for_campaign_create(pickers):
    counting = _CountingUpload("customers.csv", 13)
    assert bound(pickers, posted(pickers), counting.upload).is_valid()
    assert counting.reads == 0


def test_the_form_and_the_service_together_make_a_draft(pickers, caller):
    upload = files.upload(files.xlsx(files.ROWS), "customers.xlsx")
    form = bound(pickers, posted(pickers), upload)
    assert form.is_valid(), form.errors
    campaign = campaign_create(
        user=caller, fields=form.campaign_fields(), upload=form.cleaned_data["file"], filename=upload.name
    )
    assert campaign.window.describe() == "Mon, Wed, Sat 08:30-18:00 (Africa/Lagos)"
    assert campaign_preview(campaign=campaign).examples[0] == (
        "Remind Adaeze Okonkwo about invoice INV-001 for NGN 15,000."
    )
