from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import selectors


@require_http_methods(["GET", "POST"])
def numbers(request):
    """The business's voice numbers. POST refreshes the shared cache (then redirects: no resubmit)."""
    return _listing_page(request, selectors.voice_numbers, "directory/numbers.html", "directory:numbers")


@require_http_methods(["GET", "POST"])
def agents(request):
    """The business's AI agents, with the same refresh control as numbers."""
    return _listing_page(request, selectors.agents, "directory/agents.html", "directory:agents")


def _listing_page(request, listing, template: str, url_name: str):
    if request.method == "POST":
        listing(refresh=True)
        return redirect(url_name)
    return render(request, template, {"listing": listing(), "refresh_url": reverse(url_name)})
