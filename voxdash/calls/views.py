from django.shortcuts import render

from .forms import PAGE_SIZES, CallFiltersForm
from .selectors import call_history, page_links


def call_list(request):
    """Call history: the API's list, filtered and paged by the query string.

    One view serves the whole page and, for htmx, only its #results partial. Bad parameters are
    reported and dropped rather than failing; upstream trouble becomes a banner, never a 500.
    """
    form = CallFiltersForm(request.GET)
    form.is_valid()
    params = form.api_params()
    history = call_history(**params)
    context = {
        "form": form,
        "params": params,
        "history": history,
        "page_links": page_links(history.meta),
        "page_sizes": PAGE_SIZES,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "calls/list.html#results" if partial else "calls/list.html", context)
