from django import forms

from .models import EVENT_TYPES, Subscription


class SubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text="What this system wants to be told. Each event is sent once it happens, retried for a day.",
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "event_types", "active"]
        labels = {"url": "Endpoint URL"}

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("The endpoint must be an http:// or https:// URL.")
        return url
