"""Who may do what.

Roles are given by two groups, made by migrations and managed in the Django admin: Viewers browse;
Callers browse and place calls. What a person may do is decided by permissions, never by a group's
name: Callers may place calls because the group holds `placements.place_call`, so the admin may
also grant that permission to one person without the group. Superusers hold every permission.
Staff (the `is_staff` flag, not a group) run the machinery.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

from .signin import oidc_enabled

VIEWERS = "Viewers"
CALLERS = "Callers"
PLACE_CALL = "placements.place_call"

# A role's name (SSO's mapping, VOXDASH_SSO_DEFAULT_ROLE) -> the group that gives it.
ROLE_GROUPS = {"viewer": VIEWERS, "caller": CALLERS}
# What a role group holds when voxdash has to create it ("app_label.codename").
GROUP_PERMISSIONS = {VIEWERS: (), CALLERS: (PLACE_CALL,)}


def can_place_calls(user) -> bool:
    # The header asks on every page: the backend (accounts.permissions) loads the person's
    # permissions in one query and caches them on the user for the rest of the request.
    return user.has_perm(PLACE_CALL)


class CallersOnly(PermissionDenied):
    """Refused for want of the Caller role: the error page says how to get it (from the identity
    provider's groups when it gives the role, else from whoever manages voxdash's accounts)."""


def role_comes_from_provider(user) -> bool:
    """The role is the identity provider's to give, at each sign-in (set_role, authoritative): an
    account with no password here while OpenID Connect, or a trusted header with groups, is on.
    Changing it in the Django admin would last only until the next sign-in."""
    provider_on = oidc_enabled() or bool(settings.VOXDASH_SSO_HEADER and settings.VOXDASH_SSO_GROUPS_HEADER)
    return provider_on and not user.has_usable_password()


def callers_only(view):
    """403 for anyone signed in without `placements.place_call` (LoginRequiredMiddleware sends
    anonymous people to the login page first)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_place_calls(request.user):
            raise CallersOnly("Only Callers may place calls and run campaigns.")
        return view(request, *args, **kwargs)

    return wrapper


def role_group(role: str) -> Group:
    """The group that gives `role`. Made, with its permissions, when it is missing: after a
    database flush, or when someone deleted it. An existing group is left as the admin set it."""
    name = ROLE_GROUPS[role]
    group, created = Group.objects.get_or_create(name=name)
    if created:
        for permission in GROUP_PERMISSIONS[name]:
            app_label, codename = permission.split(".")
            found = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(found)
    return group


def role_groups_ensure(sender, **kwargs) -> None:
    """post_migrate: the role groups exist after every migrate and flush (tests flush between live
    server tests; a group created bare there would give Callers nothing)."""
    # Django makes permissions in post_migrate too, app by app: placements' exist from its turn on.
    if sender.label == "placements":
        for role in ROLE_GROUPS:
            role_group(role)


def role_for(groups: set[str] | None) -> str | None:
    """'caller', 'viewer', or None (not allowed in), from the groups an identity provider says a
    person is in (the trusted header's, OpenID Connect's claim; None: it says nothing about groups).
    Callers win over Viewers; in no mapped group, VOXDASH_SSO_DEFAULT_ROLE decides."""
    if groups is not None:
        if groups & set(settings.VOXDASH_SSO_CALLER_GROUPS):
            return "caller"
        if groups & set(settings.VOXDASH_SSO_VIEWER_GROUPS):
            return "viewer"
    default = settings.VOXDASH_SSO_DEFAULT_ROLE.strip().lower()
    return default if default in ROLE_GROUPS else None


def set_role(user, role: str | None, *, authoritative: bool, new: bool) -> None:
    """Authoritative (a groups header, the OpenID Connect claim): the provider is the source of truth,
    on every sign-in. Otherwise the default role is given once, to new users, and the Django admin
    manages it from then on. None takes every role away (someone the provider no longer lets in)."""
    if not (authoritative or new):
        return
    others = [role_group(other) for other in ROLE_GROUPS if other != role]
    user.groups.remove(*others)
    if role is not None:
        user.groups.add(role_group(role))
