from django.utils.functional import SimpleLazyObject

from voxdash.accounts.roles import can_place_calls

from .connection import connection_status


def vox_connection(request):
    """The header's environment badge and key banner, and the menu's Caller entries.

    Lazy, so pages that never render the header (the login page, htmx partials) cost no request.
    """
    if not request.user.is_authenticated:
        return {}
    return {
        "vox_connection": SimpleLazyObject(connection_status),
        "user_can_place_calls": SimpleLazyObject(lambda: can_place_calls(request.user)),
    }
