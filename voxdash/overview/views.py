from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from .connection import connection_status
from .selectors import today_links, todays_calls


@require_safe
def overview(request):
    """The landing page: is Vox reachable, with which key, and how today's calls are going."""
    connection = connection_status(refresh="refresh" in request.GET)
    today = todays_calls() if connection.ok else None
    links = today_links(today) if today else {}
    return render(
        request, "overview/overview.html", {"connection": connection, "today": today, "links": links}
    )


@login_not_required
@require_safe
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """/favicon.ico, which browsers ask for on pages that name no icon (the admin's, the probes'
    JSON): the dashboard's icon, instead of a 404 in every log."""
    return HttpResponsePermanentRedirect(static("voxdash/favicon.svg"))
