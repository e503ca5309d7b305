"""The webhook log: every stored delivery, its raw body, and a button to re-run its processing.

Staff only: bodies carry customers' phone numbers and the re-run writes to the mirror. Deliveries
the receiver refused (bad signature, unusable body) are listed apart: they never became events
(an unverified event id could be anyone's choice), and nothing in them is trusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.db import connection
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_POST

from voxdash.lib.caching import cached_or_fetch
from voxdash.lib.filter_links import filter_choices
from voxdash.lib.formatting import Moment, moment
from voxdash.lib.links import RowLinks
from voxdash.lib.paging import capped_page
from voxdash.lib.rows import html_format, html_lines
from voxdash.lib.staff import staff_only

from .models import RefusedDelivery, WebhookEvent
from .rerun import webhook_event_rerun

PAGE_SIZE = 50
REFUSED_SHOWN = 20
# Beyond this many matching events the page says "10,000+" (lib.paging.capped_page, as the audit
# log and the local copy of the history): counting a million events cost ~130 ms on PostgreSQL,
# more than the rest of the page, while a count that stops at the cap reads at most 10,001.
COUNT_CAP = 10_000
_LISTED = ("event_id", "event_type", "received_at", "outcome", "deliveries", "call_vox_id")


class WebhookLogFiltersForm(forms.Form):
    type = forms.ChoiceField(required=False)
    outcome = forms.ChoiceField(required=False, choices=[("", "All"), *WebhookEvent.Outcome.choices])
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        asked = self.data.get("type") if self.is_bound else None
        types = received_event_types_kept(asked=asked or None)
        self.fields["type"].choices = [("", "All"), *((t, t) for t in types)]


# The types received change when a kind of event first arrives: the side panel's list is kept
# for everyone a minute (and 5 s in each process), where asking PostgreSQL was one more round
# trip on every view of the log (issue 15). A type asked for that the kept list lacks (a link to
# one that just arrived) is looked up again, so its filter works at once.
TYPES_KEY = "voxdash:webhooks:types"
TYPES_KEPT_SECONDS = 60
TYPES_KEPT_HERE = 5


def received_event_types_kept(*, asked: str | None = None) -> list[str]:
    def kept(refresh: bool = False) -> list[str]:
        return cached_or_fetch(
            TYPES_KEY, TYPES_KEPT_SECONDS, received_event_types, refresh=refresh, kept_here=TYPES_KEPT_HERE
        )

    types = kept()
    return types if asked is None or asked in types else kept(refresh=True)


def received_event_types() -> list[str]:
    """The types actually received, in order (a handful, however many events).

    SELECT DISTINCT reads every entry of the type index (~350 ms at a million events on
    PostgreSQL, which has no skip scan). This asks the index for the smallest type, then for the
    smallest type after it, and so on: one short index probe per type ("loose index scan").
    """
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    sql = f"""
        WITH RECURSIVE types(name) AS (
            SELECT MIN(event_type) FROM {table}
            UNION ALL
            SELECT (SELECT MIN(event_type) FROM {table} WHERE event_type > types.name)
            FROM types WHERE types.name IS NOT NULL
        )
        SELECT name FROM types WHERE name IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [name for (name,) in cursor.fetchall()]


def webhook_events(*, event_type: str | None = None, outcome: str | None = None):
    """Stored events, newest delivery first, optionally of one type and outcome (the columns the
    list shows: never the bodies)."""
    events = WebhookEvent.objects.only(*_LISTED).order_by("-received_at", "-id")
    if event_type:
        events = events.filter(event_type=event_type)
    if outcome:
        events = events.filter(outcome=outcome)
    return events


def pretty_body(raw_body: str) -> str:
    """The body as indented JSON when it parses, else exactly as received (the template escapes it)."""
    try:
        return json.dumps(json.loads(raw_body), indent=2, ensure_ascii=False)
    except ValueError:
        return raw_body


@require_GET
@staff_only
def webhook_log(request):
    form = WebhookLogFiltersForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    events = webhook_events(event_type=data.get("type") or None, outcome=data.get("outcome") or None)
    page = capped_page(
        events, number=data.get("page") or 1, per_page=PAGE_SIZE, cap=COUNT_CAP, query=request.GET, on_ends=1
    )
    # Refused deliveries never became events; shown apart, newest first, as received. Counted
    # only when there are more than are shown (they are few unless something is wrong).
    refused = list(RefusedDelivery.objects.all()[:REFUSED_SHOWN])
    refused_total = RefusedDelivery.objects.count() if len(refused) == REFUSED_SHOWN else len(refused)
    context = {
        "form": form,
        "page": page,
        "rows": (rows := _event_rows(page.object_list)),
        "rows_html": _event_rows_html(rows),
        "pager": page.pager,
        "type_choices": filter_choices(
            "type", form.fields["type"].choices, form["type"].value(), query=request.GET
        ),
        "outcome_choices": filter_choices(
            "outcome", form.fields["outcome"].choices, form["outcome"].value(), query=request.GET
        ),
        "filtered": bool(data.get("type") or data.get("outcome")),
        "refused": _refused_rows(refused),
        "refused_total": refused_total,
    }
    return render(request, "webhooks/log.html", context)


@dataclass(frozen=True)
class _EventRow:
    """An event as the list shows it: plain text made once here (no {% url %}, |date or
    localized number a row), which _EVENT_ROW_HTML writes."""

    received: Moment
    event_type: str
    event_id: str
    outcome_code: str  # WebhookEvent.Outcome's value, for the outcome's class
    outcome: str  # its label
    deliveries: str
    url: str
    call_url: str  # "" without a call
    call_short: str  # the call's id cut to 14 characters, as |truncatechars:14 did


@dataclass(frozen=True)
class _RefusedRow:
    refusal: RefusedDelivery
    received: Moment


_OUTCOMES = dict(WebhookEvent.Outcome.choices)


def _event_rows(events) -> list[_EventRow]:
    tz = timezone.get_current_timezone()  # looked up once for the page's times
    detail, call = RowLinks("webhooks:log_detail", sample=987654321), RowLinks("calls:detail", sample="x")
    return [
        _EventRow(
            received=moment(event.received_at, tz, seconds=True),
            event_type=event.event_type,
            event_id=event.event_id,
            outcome_code=event.outcome,
            outcome=_OUTCOMES.get(event.outcome, event.outcome),
            deliveries=str(event.deliveries),
            url=detail.url(event.pk),
            call_url=call.url(event.call_vox_id) if event.call_vox_id else "",
            call_short=call_id_short(event.call_vox_id),
        )
        for event in events
    ]


# A row of the list, written as HTML here once a row (lib.rows says why).
_EVENT_ROW_HTML = (
    '<tr class="event-row">'
    '<td class="nowrap"><time datetime="{received_iso}">{received_text}</time></td>'
    "<td><code>{event_type}</code></td>"
    '<td><a href="{url}"><code>{event_id}</code></a></td>'
    '<td><span class="webhook-outcome webhook-outcome-{outcome_code}">{outcome}</span></td>'
    '<td class="numeric">{deliveries}</td>'
    "<td>{call}</td>"
    "</tr>"
)
_CALL_LINK_HTML = '<a href="{url}"><code>{text}</code></a>'


def _event_rows_html(rows: list[_EventRow]) -> SafeString:
    """The table's body: _EVENT_ROW_HTML for each row."""
    return html_lines(
        html_format(
            _EVENT_ROW_HTML,
            received_iso=row.received.iso,
            received_text=row.received.text,
            event_type=row.event_type,
            url=row.url,
            event_id=row.event_id,
            outcome_code=row.outcome_code,
            outcome=row.outcome,
            deliveries=row.deliveries,
            call=html_format(_CALL_LINK_HTML, url=row.call_url, text=row.call_short) if row.call_url else "",
        )
        for row in rows
    )


def call_id_short(call_id: str) -> str:
    """The call's id cut to 14 characters, the last an ellipsis, as |truncatechars:14 did.

    Truncator (what the filter calls) normalises the text and counts combining characters apart,
    ~15 µs an id; an ASCII id (Vox's are) is cut by its length alone, to the same text."""
    if not call_id.isascii():
        return Truncator(call_id).chars(14)
    return call_id if len(call_id) <= 14 else call_id[:13] + "…"


def _refused_rows(refused: list[RefusedDelivery]) -> list[_RefusedRow]:
    tz = timezone.get_current_timezone()
    return [_RefusedRow(refusal=r, received=moment(r.received_at, tz, seconds=True)) for r in refused]


@require_GET
@staff_only
def webhook_log_detail(request, pk: int):
    event = get_object_or_404(WebhookEvent, pk=pk)
    return render(request, "webhooks/log_detail.html", {"event": event, "body": pretty_body(event.raw_body)})


@require_POST
@staff_only
def webhook_log_rerun(request, pk: int):
    get_object_or_404(WebhookEvent.objects.only("pk"), pk=pk)
    event = webhook_event_rerun(event_pk=pk, username=request.user.get_username(), request=request)
    messages.info(request, f"Processing re-run: {event.get_outcome_display()}.")
    return redirect("webhooks:log_detail", pk=pk)
