from functools import cache

from django.urls import get_script_prefix, reverse
from django.utils.functional import SimpleLazyObject

from voxdash.accounts.roles import can_place_calls
from voxdash.lib.cache import shared_cache_outage
from voxdash.lib.staff import is_staff_member

from .connection import connection_status

# The header's and menu's links: the template's name for each -> the URL name it reverses.
MENU_URLS = {
    "overview": "overview",
    "preferences": "preferences",
    "password": "account_change_password",
    "two_factor": "mfa_index",
    "admin": "admin:index",
    "logout": "logout",
    "calls": "calls:list",
    "placed": "placements:list",
    "place": "placements:new",
    "campaigns": "campaigns:list",
    "dnc": "dnc:list",
    "numbers": "directory:numbers",
    "agents": "directory:agents",
    "stats": "stats:overview",
    "webhooks": "webhooks:log",
    "alerts": "alerts:index",
    "audit": "audit:index",
}


@cache
def _menu_urls(script_prefix: str) -> dict[str, str]:
    return {name: reverse(url_name) for name, url_name in MENU_URLS.items()}


def menu_urls(request):
    """The header's and menu's links, reversed once a process instead of ~15 `{% url %}` a page.
    They take no arguments, so they change only with the URL prefix the site is served under
    (SCRIPT_NAME), which is the key."""
    return {"menu_urls": _menu_urls(get_script_prefix())}


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
