"""Who may do what. Two groups, made by a data migration and managed in the Django admin:
Viewers browse; Callers browse and place calls. Superusers may do everything."""

from functools import wraps

from django.core.exceptions import PermissionDenied

VIEWERS = "Viewers"
CALLERS = "Callers"


def can_place_calls(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    # Cached on the user object: the header asks on every page.
    if not hasattr(user, "_voxdash_is_caller"):
        user._voxdash_is_caller = user.groups.filter(name=CALLERS).exists()
    return user._voxdash_is_caller


def callers_only(view):
    """403 for anyone signed in but not a Caller (LoginRequiredMiddleware handles anonymous)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_place_calls(request.user):
            raise PermissionDenied("Only members of Callers may place calls.")
        return view(request, *args, **kwargs)

    return wrapper


def is_staff_member(user) -> bool:
    """Staff run the machinery: syncing (it spends everyone's request budget), the webhook log."""
    return user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser)


def staff_only(view):
    """403 for anyone signed in but not staff."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_staff_member(request.user):
            raise PermissionDenied("Only staff may do this.")
        return view(request, *args, **kwargs)

    return wrapper
