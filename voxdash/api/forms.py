from datetime import timedelta

from django import forms
from django.utils import timezone

from .models import ServiceToken
from .scopes import CHOICES

EXPIRY_CHOICES = [
    ("1", "Tomorrow"),
    ("7", "In a week"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    ("never", "Never"),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Which system will use it, e.g. “CRM” or “Billing job”. Shown in the audit log.",
    )
    scopes = forms.MultipleChoiceField(
        choices=CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only what that system needs: a token that reads calls cannot place one.",
    )
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90", label="Expires")
    rate_per_minute = forms.IntegerField(
        min_value=1,
        max_value=6000,
        initial=60,
        label="Requests a minute",
        help_text="This token's own limit on voxdash's API. What reaches Vox still shares the one budget, behind the pages.",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ServiceToken.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(
                "A token has this name already (a revoked one keeps its name, so the audit log "
                "still says whose its entries were): pick another, e.g. “CRM 2”."
            )
        return name

    def expires_at(self):
        days = self.cleaned_data["expires"]
        return None if days == "never" else timezone.now() + timedelta(days=int(days))
