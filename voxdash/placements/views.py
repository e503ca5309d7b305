import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from voxdash.accounts.roles import callers_only
from voxdash.directory import selectors as directory
from voxdash.lib.paging import pager
from voxdash.vox import errors

from . import services
from .forms import CONTEXT_MAX, PURPOSE_SUGGESTIONS, PlaceCallForm
from .models import PlacedCall


def _form(data=None):
    numbers, agents = directory.voice_numbers(), directory.agents()
    form = PlaceCallForm(data, numbers=numbers.items, agents=agents.items)
    return form, {"numbers": numbers, "agents": agents}


def _render_form(request, form, pickers, **extra):
    context = {"form": form, "purpose_suggestions": PURPOSE_SUGGESTIONS, "context_max": CONTEXT_MAX}
    return render(request, "placements/form.html", {**context, **pickers, **extra})


@callers_only
@require_http_methods(["GET", "POST"])
def place_call(request):
    """Fill in, review, place. Every step is a POST of the whole form, so nothing typed is lost.

    The idempotency key is made when the form is first shown and travels in it, so any repeat of
    the final POST is the same call: answered from the record once its outcome is known, else sent
    to Vox with the same key, which dials once.
    """
    if request.method == "GET":
        form, pickers = _form()
        return _render_form(request, form, pickers)

    form, pickers = _form(request.POST)
    action = request.POST.get("action", "review")
    if action == "edit" or not form.is_valid():
        return _render_form(request, form, pickers)
    payload = form.payload()
    key = services.placement_key(payload, form.cleaned_data["idempotency_key"])
    if action != "place":
        return render(
            request, "placements/confirm.html", {"form": form, "payload": payload, "key": key, **pickers}
        )

    attempt = services.call_place(user=request.user, payload=payload, idempotency_key=key)
    record = attempt.record
    if record.reached_vox:
        if record.outcome == PlacedCall.Outcome.REPLAYED:
            messages.info(request, "This call was already placed; Vox did not dial it again.")
        else:
            messages.success(request, "Call queued. Vox is dialling; this page follows its progress.")
        return redirect("placements:detail", key=key)

    # Not placed: keep every value, and show why (on the fields Vox named, when it named them).
    error = attempt.error
    data = request.POST.copy()
    # Vox holds this key for another body: the next submit must be a new logical call.
    reused = isinstance(error, errors.IdempotencyKeyReused)
    data["idempotency_key"] = str(uuid.uuid4() if reused else key)
    form, pickers = _form(data)
    form.is_valid()
    form.add_vox_errors(error)
    return _render_form(request, form, pickers, attempt=record, error=error)


@require_safe
def placed_call_detail(request, key: uuid.UUID):
    """One placed call (every attempt that shared its key) and its live status."""
    attempts = list(PlacedCall.objects.filter(idempotency_key=key).order_by("attempted_at", "id"))
    if not attempts:
        raise Http404("No call was placed with this key.")
    progress = services.placed_call_progress(key)
    sent_from, agent = services.placed_call_sent_from(placed_call=attempts[0])
    context = {
        "attempts": attempts,
        "first": attempts[0],
        "progress": progress,
        "key": key,
        "sent_from": sent_from,
        "agent": agent,
    }
    template = "placements/detail.html#status" if request.htmx else "placements/detail.html"
    return render(request, template, context)


@require_safe
def placed_call_list(request):
    """Every attempt to place a call, newest first: who placed what, and what came of it."""
    paginator = Paginator(PlacedCall.objects.all(), 50)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "placements/list.html", {"page": page, "pager": pager(paginator, page.number)})
