"""Times in the user's own time zone, when they have chosen one."""

import zoneinfo

from django.utils import timezone

from .models import Profile

SESSION_KEY = "voxdash_time_zone"


def user_time_zone(request) -> str:
    """The user's chosen zone ("" for the site's), remembered in the session: no query per page."""
    if SESSION_KEY not in request.session:
        chosen = Profile.objects.filter(user=request.user).values_list("time_zone", flat=True).first()
        request.session[SESSION_KEY] = chosen or ""
    return request.session[SESSION_KEY]


class UserTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = user_time_zone(request) if request.user.is_authenticated else ""
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
