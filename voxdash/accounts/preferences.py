from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from .models import Profile, time_zone_choices
from .timezones import SESSION_KEY


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(required=False, label="Time zone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        site = settings.TIME_ZONE
        self.fields["time_zone"].choices = [("", f"The site's time zone ({site})"), *time_zone_choices()]


def preferences(request):
    """A person's own settings: for now, the time zone pages show times in."""
    profile, _ = Profile.objects.get_or_create(user=request.user)
    form = PreferencesForm(request.POST or None, initial={"time_zone": profile.time_zone})
    if request.method == "POST" and form.is_valid():
        profile.time_zone = form.cleaned_data["time_zone"]
        profile.save(update_fields=["time_zone"])
        request.session[SESSION_KEY] = profile.time_zone
        messages.success(
            request, "Saved. Times are now shown in " + (profile.time_zone or settings.TIME_ZONE) + "."
        )
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form})
