"""Every URL pattern of the project, with a sample URL to request, for the security tests.

`url_patterns()` walks `get_resolver()` recursively; `sample_url()` fills each pattern's arguments
from `Samples` (real objects where a view needs one). A pattern whose arguments it cannot fill
gets a placeholder: the table in test_url_walk.py then says what that pattern must answer.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


@dataclass(frozen=True)
class Pattern:
    name: str  # "namespace:name", or "route:<route>" when the pattern has no name
    route: str  # the whole route, e.g. "calls/<str:vox_id>/"
    is_regex: bool

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:") or self.route.startswith("admin/")


def _route(pattern) -> tuple[str, bool]:
    if isinstance(pattern, RoutePattern):
        return str(pattern), False
    assert isinstance(pattern, RegexPattern), pattern
    return str(pattern).lstrip("^").rstrip("$"), True


def url_patterns(patterns=None, prefix: str = "", namespace: str = "", regex: bool = False) -> list[Pattern]:
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route, is_regex = _route(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += url_patterns(entry.url_patterns, prefix + route, ns, regex or is_regex)
        else:
            assert isinstance(entry, URLPattern)
            full = prefix + route
            name = f"{namespace}{entry.name}" if entry.name else f"route:{full}"
            found.append(Pattern(name, full, regex or is_regex))
    return found


@dataclass
class Samples:
    """Real values for the arguments of the project's URLs."""

    vox_id: str
    placed_key: uuid.UUID
    webhook_event_pk: int
    objects: dict[str, object]  # "app_label.model" -> pk of an instance, for the admin's URLs
    content_type_id: int
    user_pk: int
    campaign_pk: int = 0  # a draft campaign
    token_pk: int = 0  # a service token of voxdash's API
    subscription_pk: int = 0  # an event subscription
    delivery_pk: int = 0  # a failed delivery of one of its events

    def value(self, pattern: Pattern, argument: str, converter: str) -> str:
        admin_model = re.match(r"admin/(\w+)/(\w+)/", pattern.route)
        if argument == "vox_id":
            return self.vox_id
        if argument == "key" and converter == "uuid":
            return str(self.placed_key)
        if pattern.route.startswith("campaigns/") and argument == "pk":
            return str(self.campaign_pk)
        if pattern.route.startswith("api/tokens/") and argument == "token_id":
            return str(self.token_pk)
        if pattern.route.startswith("subscriptions/deliveries/") and argument == "pk":
            return str(self.delivery_pk)
        if pattern.route.startswith("subscriptions/") and argument == "pk":
            return str(self.subscription_pk)
        if pattern.route.startswith("webhooks/") and argument == "pk":
            return str(self.webhook_event_pk)
        if argument == "object_id" and admin_model:
            return str(self.objects.get(f"{admin_model[1]}.{admin_model[2]}", 1))
        if argument == "content_type_id":
            return str(self.content_type_id)
        if argument == "object_id":  # admin:view_on_site: the Call's content type
            return str(self.objects["calls.call"])
        if argument == "id" and admin_model:  # auth user password change
            return str(self.user_pk)
        if argument == "app_label":
            return "calls"
        if argument == "url":  # the admin's catch-all
            return "no-such-page/"
        # Unknown: a well-formed placeholder (the view will most likely answer 404).
        return {"uuid": str(uuid.UUID(int=1)), "int": "1", "slug": "x", "path": "x"}.get(converter, "x")


_ROUTE_ARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<argument>\w+)>")
_REGEX_ARG = re.compile(r"\(\?P<(?P<argument>\w+)>[^)]*\)")


def sample_url(pattern: Pattern, samples: Samples) -> str:
    def route_arg(match):
        return samples.value(pattern, match["argument"], match["converter"] or "str")

    def regex_arg(match):
        return samples.value(pattern, match["argument"], "str")

    url = pattern.route
    if pattern.is_regex:  # first: "(?P<name>…)" also looks like a route's "<name>"
        url = _REGEX_ARG.sub(regex_arg, url).replace("^", "").replace("$", "")
    return "/" + _ROUTE_ARG.sub(route_arg, url)
