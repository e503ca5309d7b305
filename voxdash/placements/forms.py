import uuid

import phonenumbers
from django import forms
from django.conf import settings

from voxdash.lib.formatting import phone_display
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

    def __init__(self, *args, numbers=(), agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Only what can actually place a call is offered.
        usable_numbers = [n for n in numbers if n.can_place_calls]
        usable_agents = [a for a in agents if a.is_active]
        self.fields["business_voice_number_id"].choices = [(n.id, number_label(n)) for n in usable_numbers]
        self.fields["ai_agent_id"].choices = [(a.id, agent_label(a)) for a in usable_agents]
        if not self.is_bound:
            default = next((a for a in usable_agents if a.is_default), None)
            self.initial.setdefault("ai_agent_id", default.id if default else None)
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
