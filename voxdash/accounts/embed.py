"""Embedded mode, for a portal that frames voxdash.

`?embed=1` on any page turns it on for the rest of the session (`?embed=0` turns it off): pages
leave out the header (branding, menu, user tools) and the breadcrumbs; the portal has its own.
When VOXDASH_FRAME_ANCESTORS lists the portals, responses also drop X-Frame-Options: it can only
say DENY or SAMEORIGIN, and the CSP's frame-ancestors (set from the same setting) names origins.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

SESSION_KEY = "voxdash_embed"


class EmbedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.embedded = self.embedded(request)
        response = self.get_response(request)
        if settings.VOXDASH_FRAME_ANCESTORS:
            response.xframe_options_exempt = True
        return response

    @staticmethod
    def embedded(request: HttpRequest) -> bool:
        session = getattr(request, "session", None)
        choice = request.GET.get("embed")
        if choice in ("0", "1"):
            if session is not None:
                session[SESSION_KEY] = choice == "1"
            return choice == "1"
        return bool(session is not None and session.get(SESSION_KEY, False))


def embedded(request: HttpRequest) -> dict:
    """Context processor: `{% if embedded %}` in templates."""
    return {"embedded": getattr(request, "embedded", False)}
