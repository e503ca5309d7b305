from allauth.account.forms import LoginForm
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError

from . import throttle
from .signin import may_sign_in_with_password


class SignInForm(LoginForm):
    """allauth's sign-in form (its flow asks for the second factor), as voxdash's was before it.

    The field is still `username`, as password managers and scripts know it. Once the name is
    locked it says "too many attempts" with the wait, instead of "wrong password"; and with
    VOXDASH_LOCAL_LOGIN=admins it refuses a right password of someone who must use the provider.
    """

    throttled = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"] = self.fields.pop("login")
        self.order_fields(["username", "password"])

    def clean(self):
        username = self.cleaned_data.get("username", "").strip()
        # allauth's clean() and error messages read the name as "login".
        self.cleaned_data["login"] = username
        if username and not self.errors:
            wait = throttle.retry_after(self.request, username)
            if wait:
                self.throttled = True
                # Refused before any backend ran, so Django sends no failure signal itself; the
                # audit log must still see the attempt.
                self._failed(username)
                minutes = max(1, round(wait / 60))
                raise ValidationError(
                    "Too many failed sign-in attempts for this user. Try again in %(minutes)s minute%(s)s.",
                    code="throttled",
                    params={"minutes": minutes, "s": "" if minutes == 1 else "s"},
                )
        cleaned = super().clean()
        if self.user is not None and not may_sign_in_with_password(self.user):
            self._failed(username)
            self.user = None
            raise ValidationError(
                "This account signs in with %(provider)s, not with a password: use the button above.",
                code="local_login_refused",
                params={"provider": settings.VOXDASH_OIDC_NAME},
            )
        return cleaned

    def _failed(self, username: str) -> None:
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=self.request)
