from functools import cache

from django.urls import get_script_prefix, reverse
from django.utils.functional import SimpleLazyObject

from voxdash.accounts.roles import can_place_calls
from voxdash.lib.cache import shared_cache_outage
from voxdash.lib.staff import is_staff_member

from .connection import connection_status
from .menu import main_menu

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
    "api_tokens": "api_tokens:list",
    "subscriptions": "subscriptions:list",
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
    """The header's environment badge and key banner, the main menu (voxdash.overview.menu), the
    Caller-only links, and for staff the banner saying the shared cache (Redis) is unreachable.

    Lazy, so pages that never render the header (the login page, htmx partials) cost no request.
    """
    if not request.user.is_authenticated:
        return {}
    user = request.user
    return {
        "vox_connection": SimpleLazyObject(connection_status),
        "user_can_place_calls": SimpleLazyObject(lambda: can_place_calls(user)),
        # Lazy too: an htmx partial renders no menu, and so asks for no permission.
        "main_menu": SimpleLazyObject(
            lambda: main_menu(
                urls=_menu_urls(get_script_prefix()),
                match=request.resolver_match,
                can_place_calls=can_place_calls(user),
                is_staff=is_staff_member(user),
            )
        ),
        # Staff run the machinery, so they are told; the pages work for everyone regardless. The
        # cache backend's own memory of its last failure: no round trip to Redis on any page.
        "shared_cache_outage": shared_cache_outage() if is_staff_member(request.user) else None,
    }
