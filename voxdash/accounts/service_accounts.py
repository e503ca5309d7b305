"""Service accounts: the users API tokens act as (voxdash.api.models.ServiceToken.user).

A token's actions are recorded under its account exactly as a person's are (placed by, the audit
log, the per-user brake), but nobody may ever sign in as one: it has no usable password, and its
name starts with "api:", which Django's username rules refuse for people (the admin's and
allauth's forms) and which the trusted-header sign-in refuses here (a proxy could send any name).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from .roles import PLACE_CALL

PREFIX = "api:"


def is_service_account_name(username: str) -> bool:
    return username.startswith(PREFIX)


def service_account_create(*, name: str, places_calls: bool):
    """A new account for the token called `name` (unique among tokens, so among these accounts)."""
    user = get_user_model()(username=f"{PREFIX}{name}"[:150], is_active=True)
    user.set_unusable_password()
    user.save()
    service_account_set_places_calls(user=user, places_calls=places_calls)
    return user


def service_account_set_places_calls(*, user, places_calls: bool) -> None:
    """Give or take the Callers' permission: the services behind the pages check it (a campaign's
    creator, the do-not-call list), so a token that may dial holds it as a Caller does."""
    app_label, codename = PLACE_CALL.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    if places_calls:
        user.user_permissions.add(permission)
    else:
        user.user_permissions.remove(permission)
