import uuid
from datetime import timedelta
from urllib.parse import urlencode

import phonenumbers
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from voxdash.lib.formatting import phone_display
from voxdash.lib.widgets import DateTimeLocalInput
from voxdash.vox import errors

# The API's limits [assumed in the contract; the simulator enforces the same].
PURPOSE_MAX = 64
CONTEXT_MAX = 2000
NAME_MAX = 120
PURPOSE_SUGGESTIONS = (
    "payment_reminder",
    "order_confirmation",
    "appointment_reminder",
    "delivery_update",
    "feedback_survey",
)


SCHEDULE_MAX_DAYS = 30
# What "Call again" and other links may fill in (never the key: each visit is a new call).
PREFILL_FIELDS = (
    "customer_phone",
    "customer_name",
    "purpose",
    "context",
    "business_voice_number_id",
    "ai_agent_id",
)


def number_label(number) -> str:
    return f"{phone_display(number.phone_number)} ({number.country or '?'}, {number.provider or 'unknown provider'})"


def agent_label(agent) -> str:
    parts = [agent.name, agent.language or "", agent.persona or ""]
    return " — ".join(p for p in parts if p) + (" (default)" if agent.is_default else "")


class PlaceCallForm(forms.Form):
    """The POST /v1/vox/calls body, field for field, plus the idempotency key that travels with it."""

    customer_phone = forms.CharField(
        label="Customer phone",
        max_length=32,
        help_text="International (+234 801 234 5678) or national format for the default region.",
    )
    customer_name = forms.CharField(
        label="Customer name",
        max_length=NAME_MAX,
        required=False,
        help_text=f"Optional; the agent uses it to personalise the call. Up to {NAME_MAX} characters.",
    )
    purpose = forms.CharField(
        label="Purpose",
        max_length=PURPOSE_MAX,
        help_text=f"A short label such as payment_reminder. Up to {PURPOSE_MAX} characters.",
    )
    context = forms.CharField(
        label="Context for the agent",
        max_length=CONTEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=f"What the agent should say or achieve. Required, up to {CONTEXT_MAX} characters.",
    )
    business_voice_number_id = forms.ChoiceField(label="Call from")
    ai_agent_id = forms.ChoiceField(label="Agent")
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    # Not sent to Vox: when to send it (empty: now), and "call even though it is outside the
    # business hours" (asked on the review step only when the guard says so).
    place_at = forms.DateTimeField(
        label="Call at",
        required=False,
        widget=DateTimeLocalInput,
    )
    confirm_outside_hours = forms.BooleanField(label="Call outside the business hours anyway", required=False)

    def __init__(self, *args, numbers=(), agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place_at"].help_text = (
            f"Optional: leave empty to call now, or choose a time in the next {SCHEDULE_MAX_DAYS} days "
            f"({timezone.get_current_timezone_name()} time). The call waits under Placed calls until then."
        )
        # Only what can actually place a call is offered.
        usable_numbers = [n for n in numbers if n.can_place_calls]
        usable_agents = [a for a in agents if a.is_active]
        self.fields["business_voice_number_id"].choices = [(n.id, number_label(n)) for n in usable_numbers]
        self.fields["ai_agent_id"].choices = [(a.id, agent_label(a)) for a in usable_agents]
        if not self.is_bound:
            default = next((a for a in usable_agents if a.is_default), None)
            # A pre-filled agent or number that can no longer call is replaced by the default.
            if self.initial.get("ai_agent_id") not in {a.id for a in usable_agents}:
                self.initial["ai_agent_id"] = default.id if default else None
            if self.initial.get("business_voice_number_id") not in {n.id for n in usable_numbers}:
                self.initial.pop("business_voice_number_id", None)
            self.initial.setdefault("idempotency_key", uuid.uuid4())
        self.fields["purpose"].widget.attrs.update(list="purpose-suggestions", autocomplete="off")
        self.fields["customer_phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["context"].widget.attrs.update(maxlength=CONTEXT_MAX)

    def clean_customer_phone(self) -> str:
        raw = self.cleaned_data["customer_phone"]
        region = settings.VOX_DEFAULT_REGION
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            raise forms.ValidationError(
                f"Enter a phone number, e.g. +234 801 234 5678 (or a national number in {region})."
            )
        if not phonenumbers.is_valid_number(number):
            raise forms.ValidationError(
                "This is not a valid phone number: check the country code and digits."
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean_place_at(self):
        place_at = self.cleaned_data["place_at"]
        if place_at is None:
            return None
        now = timezone.now()
        if place_at <= now:
            raise forms.ValidationError(
                "That time has passed: choose a later one, or leave it empty to call now."
            )
        if place_at > now + timedelta(days=SCHEDULE_MAX_DAYS):
            raise forms.ValidationError(f"Choose a time within the next {SCHEDULE_MAX_DAYS} days.")
        return place_at

    def payload(self) -> dict:
        """Exactly what will be sent to Vox (after is_valid())."""
        data = self.cleaned_data
        body = {
            "customer_phone": data["customer_phone"],
            "purpose": data["purpose"],
            "context": data["context"],
            "business_voice_number_id": data["business_voice_number_id"],
            "ai_agent_id": data["ai_agent_id"],
        }
        if data.get("customer_name"):
            body["customer_name"] = data["customer_name"]
        return body

    def add_vox_errors(self, error) -> None:
        """Vox's 422 details on the fields they name; a detail for an unknown field on the form."""
        if isinstance(error, errors.VoxValidationError):
            for field, messages in error.field_errors.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)


def prefill_initial(query) -> dict:
    """The form's initial values from a query string (?customer_phone=…&purpose=…): what a link
    such as "Call again" fills in. The values are only shown; the person reviews them."""
    return {name: query[name] for name in PREFILL_FIELDS if query.get(name)}


def call_again_url(*, placed_call=None, customer_phone: str = "", customer_name: str = "") -> str:
    """The place-a-call form filled in as `placed_call` was (its whole body, by its key: a context
    of 2,000 characters would not fit in a URL that every proxy accepts), or with a phone and
    name (a call voxdash did not place). The form carries a new key: calling again is a new call."""
    if placed_call is not None:
        query = {"again": str(placed_call.idempotency_key)}
    else:
        query = {"customer_phone": customer_phone, "customer_name": customer_name}
    query = urlencode({name: value for name, value in query.items() if value})
    return reverse("placements:new") + (f"?{query}" if query else "")


class PlacedCallFiltersForm(forms.Form):
    """The placed calls list's query string (bad values are dropped, as on the call history)."""

    ORIGINS = [
        ("", "All"),
        ("by_hand", "Not campaigns"),
        ("form", "Placed from the form"),
        ("scheduled", "Scheduled"),
        ("campaign", "Campaign attempts"),
    ]
    origin = forms.ChoiceField(required=False, choices=ORIGINS)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
