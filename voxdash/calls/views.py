from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .forms import PAGE_SIZES, CallFiltersForm
from .selectors import call_detail as get_call
from .selectors import call_events, call_history, mirror_synced_at, page_links, placed_calls_for
from .sync import report_progress, sync_is_running, sync_progress

# Rendered on the detail page when the placements app provides it (it may not exist yet).
PLACED_CALL_TEMPLATE = "placements/_placed_call_summary.html"


def can_sync(user) -> bool:
    # Syncing spends the shared request budget for everyone: staff decide when.
    return user.is_active and (user.is_staff or user.is_superuser)


def call_list(request):
    """Call history: the API's list, filtered and paged by the query string.

    One view serves the whole page and, for htmx, only its #results partial. Bad parameters are
    reported and dropped rather than failing; upstream trouble becomes a banner, never a 500, and
    the local mirror answers instead when it has data.
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
        **_sync_context(request),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "calls/list.html#results" if partial else "calls/list.html", context)


def call_detail(request, vox_id: str):
    """Everything the mirror knows about one call: fields, webhook timeline, recording, placement."""
    call = get_call(vox_id)
    if call is None:
        context = {"vox_id": vox_id, **_sync_context(request)}
        return render(request, "calls/not_found.html", context, status=404)
    context = {
        "call": call,
        "events": call_events(vox_id),
        "placed_calls": placed_calls_for(call),
        "placed_call_template": _placed_call_template(),
    }
    return render(request, "calls/detail.html", context)


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
    if not can_sync(request.user):
        raise PermissionDenied("Only staff may start a sync.")
    progress = sync_progress("calls") or {}
    if not sync_is_running("calls") and not _recently_queued(progress):
        from .tasks import sync_calls  # a module that imports Celery: only when needed

        report_progress("calls", "queued")
        sync_calls.delay_on_commit()
    if request.htmx:
        return render(request, "calls/_sync.html", _sync_context(request))
    return redirect(request.POST.get("next") or "calls:list")


@require_GET
def sync_status(request):
    """The progress panel alone (htmx polls it while a sync is queued or running)."""
    if not can_sync(request.user):
        raise PermissionDenied("Only staff may see sync progress.")
    return render(request, "calls/_sync.html", _sync_context(request))


def _recently_queued(progress: dict) -> bool:
    # A second click while the first is still waiting for a worker adds nothing; a minute later
    # (the worker was down?) it may ask again.
    if progress.get("state") != "queued" or not progress.get("updated_at"):
        return False
    return timezone.now() - datetime.fromisoformat(progress["updated_at"]) < timedelta(seconds=60)


def _sync_context(request) -> dict:
    if not can_sync(request.user):
        return {"can_sync": False}
    progress = sync_progress("calls") or {}
    return {
        "can_sync": True,
        "sync": progress,
        "sync_active": progress.get("state") in ("queued", "running"),
        "mirror_synced_at": mirror_synced_at(),
    }


def _placed_call_template() -> str | None:
    try:
        get_template(PLACED_CALL_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return PLACED_CALL_TEMPLATE
