from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError

from . import throttle


class ThrottledAuthenticationForm(AuthenticationForm):
    """Says "too many attempts" (with the wait) instead of "wrong password" once locked."""

    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username")
        if username:
            wait = throttle.retry_after(self.request, username)
            if wait:
                self.throttled = True
                # Refused before any backend ran, so Django sends no failure signal itself; the
                # audit log must still see the attempt (the admin's login reaches the backend).
                user_login_failed.send(
                    sender=__name__, credentials={"username": username}, request=self.request
                )
                minutes = max(1, round(wait / 60))
                raise ValidationError(
                    "Too many failed sign-in attempts for this user. Try again in %(minutes)s minute%(s)s.",
                    code="throttled",
                    params={"minutes": minutes, "s": "" if minutes == 1 else "s"},
                )
        return super().clean()
