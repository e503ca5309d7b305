from django.utils.functional import SimpleLazyObject

from voxdash.accounts.roles import can_place_calls
from voxdash.lib.cache import shared_cache_outage
from voxdash.lib.staff import is_staff_member

from .connection import connection_status


def vox_connection(request):
    """The header's environment badge and key banner, the menu's Caller entries, and for staff
    the banner saying the shared cache (Redis) is unreachable.

    Lazy, so pages that never render the header (the login page, htmx partials) cost no request.
    """
    if not request.user.is_authenticated:
        return {}
    return {
        "vox_connection": SimpleLazyObject(connection_status),
        "user_can_place_calls": SimpleLazyObject(lambda: can_place_calls(request.user)),
        # Staff run the machinery, so they are told; the pages work for everyone regardless. The
        # cache backend's own memory of its last failure: no round trip to Redis on any page.
        "shared_cache_outage": shared_cache_outage() if is_staff_member(request.user) else None,
    }
