import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from voxdash.accounts.roles import callers_only
from voxdash.audit.log import Action, audit_record
from voxdash.directory import selectors as directory
from voxdash.lib.filter_links import filter_choices
from voxdash.lib.formatting import moment, phone_display
from voxdash.lib.links import RowLinks
from voxdash.lib.paging import capped_page
from voxdash.lib.rows import LINK_HTML, html_format, html_lines
from voxdash.vox import errors

from . import scheduled, services
from .forms import (
    CONTEXT_MAX,
    PURPOSE_SUGGESTIONS,
    PlaceCallForm,
    PlacedCallFiltersForm,
    call_again_url,
    prefill_initial,
)
from .guard import DO_NOT_CALL, OUTSIDE_WINDOW
from .models import PlacedCall

_SAMPLE_KEY = uuid.UUID(int=0)  # a key the <uuid:key> converter takes, for RowLinks
# Beyond this many attempts the list says "10,000+" (lib.paging.capped_page, as the audit log and
# the webhook log): every campaign row dialled is an attempt, and counting 200,000 of them cost
# ~50 ms on PostgreSQL (~100 ms by origin), where a count that stops at the cap reads 10,001.
COUNT_CAP = 10_000
PAGE_SIZE = 50


def _form(data=None, initial=None):
    numbers, agents = directory.voice_numbers(), directory.agents()
    form = PlaceCallForm(data, initial=initial, numbers=numbers.items, agents=agents.items)
    return form, {"numbers": numbers, "agents": agents}


def _render_form(request, form, pickers, **extra):
    context = {"form": form, "purpose_suggestions": PURPOSE_SUGGESTIONS, "context_max": CONTEXT_MAX}
    return render(request, "placements/form.html", {**context, **pickers, **extra})


def _render_review(request, form, pickers, payload, key, refusal=None, unconfirmed=False):
    """The review step: exactly what will be sent, when, and the guard's warning if it has one."""
    context = {
        "form": form,
        "payload": payload,
        "key": key,
        "place_at": form.cleaned_data["place_at"],
        "time_zone": timezone.get_current_timezone_name(),
        "outside_hours": refusal if refusal is not None and refusal.code == OUTSIDE_WINDOW else None,
        "unconfirmed": unconfirmed,
        **pickers,
    }
    return render(request, "placements/confirm.html", context)


def _initial(query) -> dict:
    """Values a link filled in (?again=<key> for "Call again", or the fields themselves)."""
    initial = prefill_initial(query)
    try:
        again = uuid.UUID(query.get("again", ""))
    except ValueError:
        return initial
    return {**initial, **prefill_initial(services.placed_call_prefill(again))}


@callers_only
@require_http_methods(["GET", "POST"])
def place_call(request):
    """Fill in, review, place (now or at a set time). Every step is a POST of the whole form, so
    nothing typed is lost.

    The idempotency key is made when the form is first shown and travels in it, so any repeat of
    the final POST is the same call: answered from the record once its outcome is known, else sent
    to Vox with the same key, which dials once. The guard (do-not-call list, business hours) is
    asked on review and again on placing.
    """
    if request.method == "GET":
        form, pickers = _form(initial=_initial(request.GET))
        return _render_form(request, form, pickers)

    form, pickers = _form(request.POST)
    action = request.POST.get("action", "review")
    if action == "edit" or not form.is_valid():
        return _render_form(request, form, pickers)
    payload = form.payload()
    key = services.placement_key(payload, form.cleaned_data["idempotency_key"])
    place_at = form.cleaned_data["place_at"]
    confirmed = form.cleaned_data["confirm_outside_hours"]
    if action != "place":
        refusal = services.call_refusal(customer_phone=payload["customer_phone"], at=place_at)
        if refusal is not None and refusal.code == DO_NOT_CALL:
            form.add_error("customer_phone", refusal.message)
            return _render_form(request, form, pickers)
        return _render_review(request, form, pickers, payload, key, refusal)

    if place_at is not None:
        attempt = scheduled.scheduled_call_create(
            user=request.user,
            payload=payload,
            idempotency_key=key,
            place_at=place_at,
            window_confirmed=confirmed,
            request=request,
        )
    else:
        attempt = services.call_place(
            user=request.user, payload=payload, idempotency_key=key, window_confirmed=confirmed
        )
    if attempt.refusal is not None:
        if attempt.refusal.code == OUTSIDE_WINDOW:
            return _render_review(request, form, pickers, payload, key, attempt.refusal, unconfirmed=True)
        field = "customer_phone" if attempt.refusal.code == DO_NOT_CALL else None
        form.add_error(field, attempt.refusal.message)
        return _render_form(request, form, pickers)
    record = attempt.record
    if record.origin == PlacedCall.Origin.SCHEDULED:
        _say_scheduled(request, record, repeat=attempt.repeat)
        return redirect("placements:detail", key=record.idempotency_key)
    if attempt.repeat:  # placed at once before; the same form came back with a time
        messages.info(request, "This call was already placed with this form, so it was not scheduled again.")
        return redirect("placements:detail", key=record.idempotency_key)
    if record.reached_vox:
        if record.outcome == PlacedCall.Outcome.REPLAYED:
            messages.info(request, "This call was already placed; Vox did not dial it again.")
        else:
            # The placement itself (its key's first accepted attempt), once: repeats are REPLAYED,
            # and what the guard stopped or Vox refused was never placed.
            audit_record(
                action=Action.CALL_PLACED,
                request=request,
                target=services.placed_call_target(record),
                detail={"window_confirmed": True} if confirmed else None,
            )
            # Not "Vox is dialling": by the time this is read the call may be over; the status is.
            messages.success(request, "Call queued. Its status below follows the call until it ends.")
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


def _when(value) -> str:
    return date_format(timezone.localtime(value), "j M Y, H:i")


def _say_scheduled(request, record: PlacedCall, *, repeat: bool) -> None:
    if repeat:
        # Pressed again (the browser resubmitting, or the same form with another time).
        messages.info(
            request,
            f"This call was already scheduled for {_when(record.place_at)}: nothing changed. To call at another "
            "time, cancel it and place a new one.",
        )
    else:
        messages.success(
            request,
            f"Call scheduled for {_when(record.place_at)}. It waits here until then; you may cancel it.",
        )


@require_safe
def placed_call_detail(request, key: uuid.UUID):
    """One placed call (every attempt that shared its key) and its live status."""
    attempts = list(PlacedCall.objects.filter(idempotency_key=key).order_by("attempted_at", "id"))
    if not attempts:
        raise Http404("No call was placed with this key.")
    first = attempts[0]
    progress = services.placed_call_progress(key)
    sent_from, agent = services.placed_call_sent_from(placed_call=first)
    context = {
        "attempts": attempts,
        "first": first,
        "progress": progress,
        "key": key,
        "sent_from": sent_from,
        "agent": agent,
        "origin": services.placed_call_origin(placed_call=first),
        "may_cancel": scheduled.scheduled_call_may_cancel(user=request.user, record=attempts[-1]),
        "call_again_url": call_again_url(placed_call=first),
    }
    template = "placements/detail.html#status" if request.htmx else "placements/detail.html"
    return render(request, template, context)


@require_safe
def placed_call_list(request):
    """Every attempt to place a call, newest first: who placed what, from where, and what came of
    it. Campaign attempts are listed too (this is the record of every dial); a filter hides them."""
    form = PlacedCallFiltersForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    attempts = services.placed_calls(origin=data.get("origin") or "").only(*_LISTED)
    page = capped_page(
        attempts, number=data.get("page") or 1, per_page=PAGE_SIZE, cap=COUNT_CAP, query=request.GET
    )
    context = {
        "page": page,
        "rows": (rows := _list_rows(page.object_list, user=request.user)),
        # A row's cancel form carries the CSRF token; it is masked once a page.
        "rows_html": _list_rows_html(
            rows, csrf=csrf_input(request) if any(r.cancel_url for r in rows) else ""
        ),
        "pager": page.pager,
        "origin_choices": filter_choices(
            "origin", form.fields["origin"].choices, form["origin"].value(), query=request.GET
        ),
        "filtered": bool(data.get("origin")),
    }
    return render(request, "placements/list.html", context)


# The columns the list reads (the rows, their origin and whether they may be cancelled): not the
# error details, Vox's ids or the cancellation, which only the call's own page shows.
_LISTED = (
    "user_id",
    "username",
    "attempted_at",
    "idempotency_key",
    "payload",  # the customer's name and the purpose
    "customer_phone",
    "outcome",
    "error_kind",
    "answered_locally",
    "origin",
    "origin_ref",
    "place_at",
)


@dataclass(frozen=True)
class _ListRow:
    """A row of the list as the page shows it: plain text and links made once here (no {% url %}
    or |date a row), which _ROW_HTML writes."""

    url: str
    attempted: str  # "2 Dec 2026, 09:05", in the viewer's zone
    username: str
    customer: str  # the name, or "—"
    phone: str
    purpose: str
    origin_code: str  # PlacedCall.Origin's value, for the row's data-origin
    origin: services.Origin
    place_at: str  # "—" when not scheduled
    outcome_code: str  # PlacedCall.Outcome's value, for the outcome's class
    outcome: str  # the outcome's label
    error_kind: str
    answered_locally: bool
    cancel_url: str  # "" when this viewer may not cancel it
    cancel_label: str


_OUTCOMES = dict(PlacedCall.Outcome.choices)


def _list_rows(placed_calls, *, user) -> list[_ListRow]:
    tz = timezone.get_current_timezone()  # looked up once for the page's times
    detail = RowLinks("placements:detail", sample=_SAMPLE_KEY)
    cancel = RowLinks("placements:cancel", sample=_SAMPLE_KEY)
    try:  # most rows of a busy list are campaign attempts, each linking its campaign
        campaign_links = RowLinks("campaigns:detail", sample=987654321)
    except NoReverseMatch:
        campaign_links = None
    rows = []
    for placed in placed_calls:
        phone = phone_display(placed.customer_phone)
        place_at = moment(placed.place_at, tz)
        may_cancel = scheduled.scheduled_call_may_cancel(user=user, record=placed)
        rows.append(
            _ListRow(
                url=detail.url(placed.idempotency_key),
                attempted=moment(placed.attempted_at, tz).text,
                username=placed.username,
                customer=placed.customer_name or "—",
                phone=phone,
                purpose=placed.purpose,
                origin_code=placed.origin,
                origin=services.placed_call_origin(placed_call=placed, campaign_links=campaign_links),
                place_at=place_at.text if place_at else "—",
                outcome_code=placed.outcome,
                outcome=_OUTCOMES.get(placed.outcome, placed.outcome),
                error_kind=placed.error_kind,
                answered_locally=placed.answered_locally,
                cancel_url=cancel.url(placed.idempotency_key) if may_cancel else "",
                cancel_label=f"Cancel the call to {phone} scheduled for {place_at.text}"
                if may_cancel
                else "",
            )
        )
    return rows


# A row of the list, written as HTML here once a row (lib.rows says why), 50 a page.
_ROW_HTML = (
    '<tr class="placed-row" data-origin="{origin_code}">'
    '<td class="nowrap"><a href="{url}">{attempted}</a></td>'
    "<td>{username}</td>"
    '<td>{customer} · <span class="nowrap">{phone}</span></td>'
    "<td><code>{purpose}</code></td>"
    '<td class="placed-origin">{origin}</td>'
    '<td class="nowrap">{place_at}</td>'
    '<td><span class="outcome outcome-{outcome_code}">{outcome}</span>{notes}</td>'
    "<td>{cancel}</td>"
    "</tr>"
)
_ERROR_KIND_HTML = ' <span class="help">{kind}</span>'
_ANSWERED_LOCALLY_HTML = SafeString(' <span class="help">(answered by voxdash)</span>')
_CANCEL_HTML = (
    '<form method="post" action="{url}">{csrf}'
    '<button type="submit" class="button" aria-label="{label}">Cancel</button></form>'
)


def _list_rows_html(rows: list[_ListRow], *, csrf: SafeString | str) -> SafeString:
    """The table's body: _ROW_HTML for each row; `csrf` is the cancel forms' hidden input."""
    return html_lines(_row_html(row, csrf=csrf) for row in rows)


def _row_html(row: _ListRow, *, csrf: SafeString | str) -> SafeString:
    origin = (
        html_format(LINK_HTML, url=row.origin.url, text=row.origin.text)
        if row.origin.url
        else row.origin.text
    )
    notes = html_format(_ERROR_KIND_HTML, kind=row.error_kind) if row.error_kind else SafeString()
    if row.answered_locally:
        notes += _ANSWERED_LOCALLY_HTML  # SafeString + SafeString stays safe
    return html_format(
        _ROW_HTML,
        origin_code=row.origin_code,
        url=row.url,
        attempted=row.attempted,
        username=row.username,
        customer=row.customer,
        phone=row.phone,
        purpose=row.purpose,
        origin=origin,
        place_at=row.place_at,
        outcome_code=row.outcome_code,
        outcome=row.outcome,
        notes=notes,
        cancel=html_format(_CANCEL_HTML, url=row.cancel_url, csrf=csrf, label=row.cancel_label)
        if row.cancel_url
        else "",
    )


@callers_only
@require_POST
def scheduled_call_cancel(request, key: uuid.UUID):
    """Cancel a scheduled call that is still waiting (the person who scheduled it, or staff)."""
    try:
        record, cancelled = scheduled.scheduled_call_cancel(key=key, user=request.user, request=request)
    except PlacedCall.DoesNotExist:
        messages.error(request, "Only a scheduled call can be cancelled; this one was placed at once.")
        return redirect("placements:detail", key=key)
    if cancelled:
        messages.success(request, "Cancelled: this call will not be placed.")
    else:
        messages.info(
            request, f"It could not be cancelled: it is {record.get_outcome_display().lower()} already."
        )
    return redirect("placements:detail", key=key)
