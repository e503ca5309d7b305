"""One deadline for all of a web request's talk with Vox (VOX_INTERACTIVE_DEADLINE seconds).

A page may ask Vox several things: the history's list, the header's health check, the pickers, the
placement. Each is cut to what is left of this one deadline (voxdash.vox.deadline), so a slow Vox
costs a page a few seconds and a mirror banner, never gunicorn's timeout and a killed worker.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from voxdash.vox import deadline


class VoxDeadlineMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Read per request, so tests (and override_settings) can change it; 0 turns it off.
        with deadline.within(settings.VOX_INTERACTIVE_DEADLINE):
            return self.get_response(request)
