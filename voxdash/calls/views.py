from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST, require_safe

from voxdash.accounts.roles import is_staff_member
from voxdash.mirror.sync import sync_progress

from .export import csv_chunks, export_filename
from .forms import PAGE_SIZES, CallFiltersForm
from .models import Call
from .queue import calls_sync_request
from .selectors import call_detail as get_call
from .selectors import (
    call_events,
    call_history,
    mirror_calls,
    mirror_synced_at,
    page_links,
    placed_call_for,
)


@require_safe
def call_list(request):
    """Call history: the API's list, filtered and paged by the query string.

    One view serves the whole page and, for htmx, only its #results partial. Bad parameters are
    reported and dropped rather than failing; upstream trouble becomes a banner, never a 500, and
    the local mirror answers instead when it has data.
    """
    form = CallFiltersForm(request.GET)
    form.is_valid()
    params = form.api_params()
    mirror_params = form.mirror_params()
    history = call_history(**params, **mirror_params)
    context = {
        "form": form,
        "params": params,
        "mirror_params": mirror_params,
        "has_mirror_filters": any(v is not None for v in mirror_params.values()),
        # The mirror filters as query values, for the hidden inputs that keep them across a search.
        "mirror_carry": [(k, v.isoformat() if isinstance(v, date) else v)
                         for k, v in mirror_params.items() if v is not None],
        "mirror_panel": form.mirror_panel(),
        "mirror_is_empty": history.source != "mirror" and not Call.objects.exists(),
        "history": history,
        "page_links": page_links(history.meta),
        "page_sizes": PAGE_SIZES,
        **_sync_context(request),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "calls/list.html#results" if partial else "calls/list.html", context)


@require_safe
def call_detail(request, vox_id: str):
    """Everything the mirror knows about one call: fields, webhook timeline, recording, placement."""
    call = get_call(vox_id)
    if call is None:
        context = {"vox_id": vox_id, **_sync_context(request)}
        return render(request, "calls/not_found.html", context, status=404)
    context = {
        "call": call,
        "events": call_events(vox_id),
        "placed_call": placed_call_for(call),
    }
    return render(request, "calls/detail.html", context)


@require_GET
def call_export(request):
    """The current filters' calls as CSV, all pages, from the mirror (the API has no export)."""
    form = CallFiltersForm(request.GET)
    form.is_valid()  # a bad value is dropped, as on the page, so the file matches what was shown
    filters = form.filters()
    response = StreamingHttpResponse(csv_chunks(mirror_calls(**filters)), content_type="text/csv; charset=utf-8")
    filename = export_filename(filters, timezone.localdate())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def call_status(request, vox_id: str):
    """The detail page's live status block, polled by htmx while the call is not over."""
    call = get_call(vox_id)
    if call is None:
        return render(request, "calls/not_found.html", {"vox_id": vox_id}, status=404)
    return render(request, "calls/detail.html#status", {"call": call})


@require_POST
def sync_now(request):
    """Queue an incremental sync of the call list (staff only); htmx gets the progress panel."""
    if not is_staff_member(request.user):
        raise PermissionDenied("Only staff may start a sync.")
    calls_sync_request()
    if request.htmx:
        return render(request, "calls/_sync.html", _sync_context(request))
    # Back to the page the button was on, but never off this site (an open redirect).
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "calls:list"
    return redirect(next_url)


@require_GET
def sync_status(request):
    """The progress panel alone (htmx polls it while a sync is queued or running)."""
    if not is_staff_member(request.user):
        raise PermissionDenied("Only staff may see sync progress.")
    return render(request, "calls/_sync.html", _sync_context(request))


def _sync_context(request) -> dict:
    if not is_staff_member(request.user):
        return {"can_sync": False}
    progress = sync_progress("calls") or {}
    return {
        "can_sync": True,
        "sync": progress,
        "sync_active": progress.get("state") in ("queued", "running"),
        "mirror_synced_at": mirror_synced_at(),
    }
