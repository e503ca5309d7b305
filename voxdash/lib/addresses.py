"""Which proxies are trusted, and the client address a request came from through them."""

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks() -> list[Network]:
    """VOXDASH_SSO_TRUSTED_PROXIES: the proxies whose headers voxdash believes."""
    return _parse(tuple(settings.VOXDASH_SSO_TRUSTED_PROXIES))


@cache
def _parse(items: tuple[str, ...]) -> list[Network]:
    return [ipaddress.ip_network(item, strict=False) for item in items]


def is_trusted_proxy(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: HttpRequest | None) -> str:
    """REMOTE_ADDR or, when that is a trusted proxy, the address it says it forwarded for: the last
    one in X-Forwarded-For, the only hop that proxy vouches for (a client can write the others)."""
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and is_trusted_proxy(address, trusted_networks()):
        return forwarded.split(",")[-1].strip()[:64]
    return address[:64]
