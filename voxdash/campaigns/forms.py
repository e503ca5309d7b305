from datetime import time
from zoneinfo import available_timezones

from django import forms

from voxdash.lib.sheets import MAX_FILE_BYTES, MB, SheetError, sheet_check
from voxdash.lib.widgets import NumberInput, TimeInput
from voxdash.lib.window import DAY_CODES, DAY_NAMES
from voxdash.placements.forms import CONTEXT_MAX, PURPOSE_MAX, agent_label, number_label

from .drafts import template_columns

NAME_MAX = 120  # Campaign.name
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
# Sorted once: ~600 names, the same for every form.
TIME_ZONES = sorted(available_timezones())


class CampaignForm(forms.Form):
    """A new campaign: the one-off form's fields for every row, the file, and how it runs.

    The file is only checked here for what can be refused unread (its size and kind):
    `drafts.campaign_create` reads it, once, and its SheetError goes on the `file` field.
    """

    name = forms.CharField(
        label="Name", max_length=NAME_MAX, help_text="For you and your team, e.g. December reminders."
    )
    file = forms.FileField(
        label="List to call",
        help_text=(
            f"CSV (from Excel, LibreOffice or Google Sheets) or .xlsx, up to {MAX_FILE_BYTES // MB} MB. "
            "The first row names the columns: customer_phone or phone, and optionally customer_name or name."
        ),
    )
    business_voice_number_id = forms.ChoiceField(label="Call from")
    ai_agent_id = forms.ChoiceField(label="Agent")
    purpose = forms.CharField(
        label="Purpose",
        max_length=PURPOSE_MAX,
        help_text=f"A short label such as payment_reminder. Up to {PURPOSE_MAX} characters.",
    )
    context = forms.CharField(
        label="Context for the agent",
        max_length=CONTEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=(
            "What the agent should say or achieve. {column} is replaced by each row's cell, e.g. "
            "“Remind {customer_name} about invoice {invoice}”; {{ and }} are braces of their own."
        ),
    )
    max_attempts = forms.IntegerField(
        label="Attempts per row",
        widget=NumberInput,
        min_value=1,
        max_value=5,
        initial=1,
        help_text="1 to 5. After a no answer, busy or failed call the row is tried again, up to this many times.",
    )
    retry_after_minutes = forms.IntegerField(
        label="Retry after (minutes)",
        widget=NumberInput,
        min_value=0,
        max_value=1440,
        initial=60,
        help_text="0 to 1440: how long after an unsuccessful attempt the next may start.",
    )
    window_start = forms.TimeField(
        label="Calls start at",
        input_formats=["%H:%M"],
        initial=time(9, 0),
        widget=TimeInput,
    )
    window_end = forms.TimeField(
        label="Calls end by",
        input_formats=["%H:%M"],
        initial=time(17, 0),
        widget=TimeInput,
        help_text="HH:MM in the campaign's time zone. An end before the start runs past midnight.",
    )
    window_days = forms.MultipleChoiceField(
        label="On",
        choices=[(code, DAY_NAMES[code]) for code in DAY_CODES],
        initial=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one day to call on."},
    )
    time_zone = forms.ChoiceField(label="Time zone", choices=[(tz, tz) for tz in TIME_ZONES])
    max_in_flight = forms.IntegerField(
        label="Calls at once",
        widget=NumberInput,
        min_value=1,
        max_value=200,
        initial=5,
        help_text="1 to 200: calls queued or in progress at the same time.",
    )

    def __init__(self, data=None, files=None, *, numbers=(), agents=(), time_zone: str = "UTC", **kwargs):
        super().__init__(data, files, **kwargs)
        # Only what can actually place a call is offered, as on the one-off form.
        usable_numbers = [n for n in numbers if n.can_place_calls]
        usable_agents = [a for a in agents if a.is_active]
        self.fields["business_voice_number_id"].choices = [(n.id, number_label(n)) for n in usable_numbers]
        self.fields["ai_agent_id"].choices = [(a.id, agent_label(a)) for a in usable_agents]
        if not self.is_bound:
            default = next((a for a in usable_agents if a.is_default), None)
            self.initial.setdefault("ai_agent_id", default.id if default else None)
            self.initial.setdefault("time_zone", time_zone if time_zone in TIME_ZONES else "UTC")
        self.fields["file"].widget.attrs.update(accept=".csv,.xlsx")
        self.fields["purpose"].widget.attrs.update(list="purpose-suggestions", autocomplete="off")
        self.fields["context"].widget.attrs.update(maxlength=CONTEXT_MAX)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            sheet_check(size=upload.size, filename=upload.name)
        except SheetError as exc:
            raise forms.ValidationError(exc.message) from None
        return upload

    def clean_context(self) -> str:
        template = self.cleaned_data["context"]
        try:
            template_columns(template)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return template

    def campaign_fields(self) -> dict:
        """The Campaign's field values (after is_valid()); the file goes to campaign_create."""
        data = self.cleaned_data
        chosen = set(data["window_days"])
        return {
            "name": data["name"],
            "business_voice_number_id": data["business_voice_number_id"],
            "ai_agent_id": data["ai_agent_id"],
            "purpose": data["purpose"],
            "context_template": data["context"],
            "max_attempts": data["max_attempts"],
            "retry_after_minutes": data["retry_after_minutes"],
            "window_start": data["window_start"],
            "window_end": data["window_end"],
            "window_days": ",".join(code for code in DAY_CODES if code in chosen),
            "time_zone": data["time_zone"],
            "max_in_flight": data["max_in_flight"],
        }
