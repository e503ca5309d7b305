from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import selectors


@require_http_methods(["GET", "POST"])
def numbers(request):
    """The business's voice numbers. POST refreshes the shared cache (then redirects: no resubmit)."""
    if request.method == "POST":
        selectors.voice_numbers(refresh=True)
        return redirect("directory:numbers")
    return render(request, "directory/numbers.html", {"listing": selectors.voice_numbers()})


@require_http_methods(["GET", "POST"])
def agents(request):
    """The business's AI agents, with the same refresh control as numbers."""
    if request.method == "POST":
        selectors.agents(refresh=True)
        return redirect("directory:agents")
    return render(request, "directory/agents.html", {"listing": selectors.agents()})
