"""Who counts as staff, and the decorator for their pages.

Here rather than in accounts: the audit log, which every app records into and so may import none
of them, needs the same rule for its pages.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied


def is_staff_member(user) -> bool:
    """Staff run the machinery: syncing (it spends everyone's request budget), the webhook log,
    alerts and the audit log."""
    return user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser)


def staff_only(view):
    """403 for anyone signed in but not staff."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_staff_member(request.user):
            raise PermissionDenied("Only administrators (Django staff) may open this page.")
        return view(request, *args, **kwargs)

    return wrapper
