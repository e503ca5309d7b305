from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST, require_safe

from voxdash.audit.log import Action, Target, audit_record
from voxdash.lib.filter_links import filter_choices
from voxdash.lib.htmx import page_or_partial
from voxdash.lib.querystring import QueryString
from voxdash.lib.staff import is_staff_member
from voxdash.mirror.sync import sync_progress
from voxdash.placements.forms import call_again_url

from .export import csv_chunks, export_filename
from .forms import PAGE_SIZES, CallFiltersForm
from .history import call_history, call_rows, call_rows_html, history_pager, mirror_facts
from .mirror_query import mirror_calls, mirror_exact_count, mirror_synced_at
from .queue import calls_sync_request
from .selectors import call_detail as get_call
from .selectors import call_events, placed_call_for


@require_safe
def call_list(request):
    """Call history: the API's list, filtered and paged by the query string.

    One view serves the whole page and, for htmx, only its #results partial. Bad parameters are
    reported and dropped rather than failing; upstream trouble becomes a banner, never a 500, and
    the local mirror answers instead when it has data.
    """
    facts = mirror_facts(query=request.GET)
    form = CallFiltersForm(request.GET, choices=facts.pickers)
    form.is_valid()
    filters = form.call_filters()
    page, limit = form.paging()
    history = call_history(filters=filters, page=page, limit=limit)
    # Every link that keeps the query is made in Python, once (lib/querystring.py says why).
    links = QueryString(request.GET)
    # The filters without the page: what the export and the exact count are of.
    filters_query = links.href({"page": None, "limit": None})
    context = {
        "form": form,
        "filters": filters,
        "limit": limit,
        # What the search box and the side panel keep of the filters when they set their own.
        "search_carry": filters.hidden_inputs(without=("search",)),
        "panel_carry": filters.hidden_inputs(without=CallFiltersForm.MIRROR_PANEL_FIELDS),
        "direction_choices": filter_choices(
            "direction", form.fields["direction"].choices, filters.direction, query=request.GET
        ),
        "status_choices": filter_choices("status", form.status_choices(), filters.status, query=request.GET),
        "mirror_panel": form.mirror_panel(),
        "mirror_is_empty": history.source != "mirror" and not facts.has_calls,
        "history": history,
        "rows_html": call_rows_html(rows=call_rows(calls=history.calls)),
        "list_url": reverse("calls:list"),
        "export_url": reverse("calls:export") + filters_query,
        # A capped count of the mirror ("10,000+") is followed by the exact one, asked for by the
        # page once it is shown (call_count): the page itself never waits for a full count.
        "exact_count_url": reverse("calls:count") + filters_query
        if history.source == "mirror" and history.meta and history.meta.total_is_lower_bound
        else "",
        "last_page_url": links.href({"page": history.meta.total_pages}) if history.past_the_end else "",
        "pager": history_pager(history, sizes=PAGE_SIZES, size=limit, query=request.GET),
        # A page from the mirror has just read when it was synced: the staff's sync panel says it too.
        **_sync_context(request, mirror_as_of=history.mirror_as_of),
    }
    return render(request, page_or_partial(request, "calls/list.html", "results"), context)


@require_safe
def call_count(request):
    """How many of the mirror's calls match the history's filters, however many: the figure a
    capped count ("10,000+") stands for. Asked for by the history page after it is shown (it may
    take a tenth of a second at a million calls); the same filters as the page, bad ones dropped.
    Opened as a page of its own, it sends to the history of those filters."""
    if not request.htmx:
        return redirect(reverse("calls:list") + (f"?{request.GET.urlencode()}" if request.GET else ""))
    form = CallFiltersForm(request.GET)  # as the export: the pickers are read only if one is set
    form.is_valid()
    count = mirror_exact_count(filters=form.call_filters())
    return render(request, "calls/list.html#exact-count", {"exact_count": count})


@require_safe
def call_detail(request, vox_id: str):
    """Everything the mirror knows about one call: fields, webhook timeline, recording, placement.

    For htmx, only the live status block: it polls this page while the call is not over.
    """
    call = get_call(vox_id)
    if call is None:
        context = {"vox_id": vox_id, **_sync_context(request)}
        return render(request, "calls/not_found.html", context, status=404)
    placed_call = placed_call_for(call)
    context = {
        "call": call,
        "events": call_events(vox_id),
        "placed_call": placed_call,
        # The form filled in as this call was placed (or with its phone and name): a new call.
        "call_again_url": call_again_url(
            placed_call=placed_call, customer_phone=call.customer_phone, customer_name=call.customer_name
        ),
    }
    return render(request, page_or_partial(request, "calls/detail.html", "status"), context)


@require_GET
def call_export(request):
    """The current filters' calls as CSV, all pages, from the mirror (the API has no export)."""
    form = CallFiltersForm(request.GET)
    form.is_valid()  # a bad value is dropped, as on the page, so the file matches what was shown
    filters = form.call_filters()
    # Customers' names and numbers in bulk: who took which calls out is recorded, with the filters.
    audit_record(
        action=Action.CALLS_EXPORTED, request=request, detail={"filters": dict(filters.hidden_inputs())}
    )
    response = StreamingHttpResponse(
        csv_chunks(mirror_calls(filters)), content_type="text/csv; charset=utf-8"
    )
    filename = export_filename(filters, timezone.localdate())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def sync_now(request):
    """Queue an incremental sync of the call list (staff only); htmx gets the progress panel."""
    if not is_staff_member(request.user):
        raise PermissionDenied("Only staff may start a sync.")
    calls_sync_request()
    sync = Target(type="sync", label="Call list (incremental)", url=reverse("calls:sync_status"))
    audit_record(action=Action.SYNC_REQUESTED, request=request, target=sync)
    if request.htmx:
        return render(request, "calls/sync.html#panel", _sync_context(request))
    # Back to the page the button was on, but never off this site (an open redirect).
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "calls:list"
    return redirect(next_url)


@require_GET
def sync_status(request):
    """The sync's progress as a page; for htmx the panel alone (it polls this while a sync is
    queued or running)."""
    if not is_staff_member(request.user):
        raise PermissionDenied("Only staff may see sync progress.")
    return render(request, page_or_partial(request, "calls/sync.html", "panel"), _sync_context(request))


def _sync_context(request, *, mirror_as_of: datetime | None = None) -> dict:
    if not is_staff_member(request.user):
        return {"can_sync": False}
    progress = sync_progress("calls") or {}
    return {
        "can_sync": True,
        "sync": progress,
        "sync_active": progress.get("state") in ("queued", "running"),
        "mirror_synced_at": mirror_as_of or mirror_synced_at(),
    }
