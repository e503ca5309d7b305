"""Placing a call exactly once, and keeping a record of every attempt."""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from voxdash.audit.log import Target
from voxdash.directory.models import Agent, VoiceNumber
from voxdash.lib.formatting import phone_display
from voxdash.lib.links import RowLinks
from voxdash.mirror.placements import placement_link, placement_match, placement_mirrored_call
from voxdash.vox import errors, get_client, statuses
from voxdash.vox.budget import PLACEMENT
from voxdash.vox.types import CallRequest

from .guard import THROTTLED, Refusal, business_hours, placement_guard
from .models import ACCEPTED_OUTCOMES, PlacedCall, payload_fingerprint

logger = logging.getLogger(__name__)

# Errors after which Vox may or may not have queued the call: only a retry with the same key
# can tell, and it cannot dial twice. A rate limit belongs here too: the client's earlier attempt
# may have been queued with its response lost before a retry met the limit. Everything else
# (validation, auth, scope, key reuse) means Vox refused the call.
OUTCOME_UNKNOWN_ERRORS = (errors.VoxTransientError, errors.VoxBadResponse)

# Refusals of this very request (its body, or its key held for another body): pressed again
# unchanged, it would earn the same answer, so the repeat is answered from the record. Refusals of
# voxdash's own key or address (401, 403, 404) are not here: they are fixed in the settings, after
# which the same form must go through.
PERMANENT_ERRORS = (errors.VoxValidationError, errors.VoxBadRequest, errors.IdempotencyKeyReused)
_PERMANENT_BY_KIND = {cls.__name__: cls for cls in PERMANENT_ERRORS}


def placement_key(payload: dict, proposed_key: uuid.UUID) -> uuid.UUID:
    """The key to send: the form's own, unless it was already used for a different body.

    An unchanged resubmission (double click, browser resubmit, retry after a lost response) keeps
    its key, so Vox dials once. A form changed after a failure is a new call and gets a new key;
    reusing the old one would only earn a 409 idempotency_key_reused.
    """
    fingerprint = payload_fingerprint(payload)
    used_differently = (
        PlacedCall.objects.filter(idempotency_key=proposed_key)
        .exclude(payload_fingerprint=fingerprint)
        .exists()
    )
    return uuid.uuid4() if used_differently else proposed_key


@dataclass
class Attempt:
    # None only with `refusal`: the guard refused before anything was recorded or sent.
    record: PlacedCall | None
    error: errors.VoxError | None = None
    # The guard's refusal that is not an outcome of the call: the number is on the do-not-call
    # list, or it is outside the business hours and not confirmed. The person changes the form.
    refusal: Refusal | None = None
    # A scheduled call pressed again: the answer is the call scheduled the first time.
    repeat: bool = False


def call_refusal(*, customer_phone: str, at=None, window_confirmed: bool = False) -> Refusal | None:
    """What the guard would say about a one-off call to `customer_phone` at `at` (default now),
    brake aside: for the review step, before anything is placed."""
    return placement_guard(
        customer_phone=customer_phone, window=business_hours(), at=at, window_confirmed=window_confirmed
    )


def call_place(*, user, payload: dict, idempotency_key: uuid.UUID, window_confirmed: bool = False) -> Attempt:
    """Pass the guard, record the attempt, send it to Vox with the key, and record the outcome.

    A key whose outcome is already known is answered from the record: no request, no budget.
    Only an unknown outcome (lost response, timeout, rate limit, throttle) goes to Vox again,
    where the key still guards against a second dial when two such presses race.
    `window_confirmed`: the person chose to call outside the business hours.
    """
    record = PlacedCall.for_body(
        user=user,
        idempotency_key=idempotency_key,
        payload=payload,
        window_confirmed=window_confirmed,
    )
    # Scheduled with this key (the form went back and dropped its time): it goes when due, once.
    waiting = PlacedCall.objects.filter(idempotency_key=idempotency_key, origin=PlacedCall.Origin.SCHEDULED)
    if (scheduled := waiting.first()) is not None:
        return Attempt(scheduled, repeat=True)
    settled = _settling_attempt(idempotency_key, record.payload_fingerprint)
    if settled is not None:
        return _answer_from(settled, record)
    # A retry of a call already sent is not a new call; a throttled attempt was never sent.
    is_retry = (
        PlacedCall.objects.filter(idempotency_key=idempotency_key)
        .exclude(outcome=PlacedCall.Outcome.THROTTLED)
        .exists()
    )
    refusal = placement_guard(
        customer_phone=record.customer_phone,
        window=business_hours(),
        window_confirmed=window_confirmed,
        braked_user=None if is_retry else user,
    )
    if refusal is not None and refusal.code == THROTTLED:
        # On record, as before: the brake stopping a runaway is worth seeing in the audit.
        record.outcome = PlacedCall.Outcome.THROTTLED
        record.error_message = refusal.message
        record.save()
        return Attempt(record)
    if refusal is not None:
        return Attempt(None, refusal=refusal)  # nothing recorded, nothing sent
    record.save()  # on record before Vox hears of it: a lost response still leaves a trace
    # Only this POST spends the placement reserve: the form's pickers are reads that fall back
    # to the mirror, so they stay at page priority and cannot eat the tokens placing needs.
    return placement_send(record=record, priority=PLACEMENT)


def placement_send(*, record: PlacedCall, priority: str) -> Attempt:
    """Send a recorded attempt (saved, outcome pending) to Vox with its key; record the outcome.

    Every path that dials comes through here after writing its record: the form, scheduled calls
    when due, campaign attempts (at background priority: they wait for the budget, pages don't).
    Sending the same record's key again can never dial twice: Vox replays the first answer.
    """
    try:
        client = get_client().using(priority)
        placed = client.place_call(CallRequest(**record.payload), idempotency_key=str(record.idempotency_key))
    except errors.VoxError as exc:
        unknown = isinstance(exc, OUTCOME_UNKNOWN_ERRORS)
        record.outcome = PlacedCall.Outcome.UNKNOWN if unknown else PlacedCall.Outcome.REJECTED
        record.error_kind = type(exc).__name__
        record.error_message = exc.message
        record.error_fields = exc.field_errors if isinstance(exc, errors.VoxValidationError) else {}
        record.save(update_fields=["outcome", "error_kind", "error_message", "error_fields"])
        logger.warning("placing call %s: %s", record.idempotency_key, record.error_kind)
        return Attempt(record, exc)

    record.vox_placement_id = placed.id
    record.vox_created_at = placed.created_at
    _record_accepted(record)
    return Attempt(record)


def _settling_attempt(key: uuid.UUID, fingerprint: str) -> PlacedCall | None:
    """The attempt that settled this key for this body, if one did: the placement Vox accepted,
    else the latest refusal that pressing again cannot change."""
    attempts = PlacedCall.objects.filter(idempotency_key=key, payload_fingerprint=fingerprint)
    accepted = attempts.filter(outcome__in=ACCEPTED_OUTCOMES).exclude(vox_placement_id="")
    refused = attempts.filter(outcome=PlacedCall.Outcome.REJECTED, error_kind__in=list(_PERMANENT_BY_KIND))
    in_order = ("attempted_at", "id")
    return accepted.order_by(*in_order).first() or refused.order_by(*in_order).last()


def _answer_from(settled: PlacedCall, record: PlacedCall) -> Attempt:
    """Record the repeat with the settled attempt's outcome, as Vox itself would answer it."""
    record.answered_locally = True
    if settled.reached_vox:
        record.outcome = PlacedCall.Outcome.REPLAYED
        record.vox_placement_id = settled.vox_placement_id
        record.vox_created_at = settled.vox_created_at
        # The listed call's id alone: save() reads the copy of the call from the mirror as it is
        # now (the settled record's may be older: the call may have moved on since).
        record.listed_call_id = settled.listed_call_id
        record.save()
        return Attempt(record)
    record.outcome = PlacedCall.Outcome.REJECTED
    record.error_kind, record.error_message = settled.error_kind, settled.error_message
    record.error_fields = settled.error_fields
    record.save()
    return Attempt(record, _recorded_error(settled))


def _recorded_error(settled: PlacedCall) -> errors.VoxError:
    """The refusal again, as the error the view shows (with Vox's field details for a 422)."""
    error_class = _PERMANENT_BY_KIND[settled.error_kind]
    if issubclass(error_class, errors.VoxValidationError):
        details = [errors.FieldError(f, m) for f, messages in settled.error_fields.items() for m in messages]
        return error_class(settled.error_message, details=details)
    return error_class(settled.error_message)


def _record_accepted(record: PlacedCall) -> None:
    """Vox accepted the attempt: the first such attempt of its key is the placement, even when Vox
    flags the answer replayed (an earlier attempt's response was lost); every later one is a repeat."""
    fields = ["outcome", "vox_placement_id", "vox_created_at"]
    record.outcome = PlacedCall.Outcome.QUEUED
    try:
        # A savepoint: a refused update must leave any enclosing transaction usable.
        with transaction.atomic():
            record.save(update_fields=fields)
    except IntegrityError:  # another attempt of this key recorded the placement first
        record.outcome = PlacedCall.Outcome.REPLAYED
        record.save(update_fields=fields)


@dataclass
class Progress:
    """Where a placed call stands, for its live status panel."""

    status: str  # a Vox call status, or the placement's own outcome when Vox never queued it
    listed_call_id: str = ""
    # "mirror" or "api": where the listed call was found; "placement-accepted": Vox accepted it but
    # it is not listed yet; "placement": it never reached Vox (status is the placement's outcome).
    source: str = ""
    call: object | None = None  # the mirrored Call or the API's Call, for duration etc.
    # A scheduled call not yet due, or being sent by the worker: its page keeps looking.
    waiting: bool = False

    @property
    def is_final(self) -> bool:
        return (self.source == "placement" and not self.waiting) or statuses.is_terminal(self.status)


def placed_call_progress(key: uuid.UUID) -> Progress:
    attempts = list(PlacedCall.objects.filter(idempotency_key=key).order_by("attempted_at", "id"))
    accepted = next((a for a in attempts if a.reached_vox), None)
    if accepted is None:
        latest = attempts[-1]
        waiting = latest.origin == PlacedCall.Origin.SCHEDULED and latest.outcome in (
            PlacedCall.Outcome.SCHEDULED,
            PlacedCall.Outcome.PENDING,
        )
        return Progress(status=latest.outcome, source="placement", waiting=waiting)

    call = placement_mirrored_call(accepted)
    if call is not None:
        return Progress(status=call.status, listed_call_id=call.vox_id, source="mirror", call=call)
    listed = _find_in_listing(accepted)
    if listed is not None:
        return Progress(status=listed.status, listed_call_id=listed.id, source="api", call=listed)
    return Progress(status=statuses.QUEUED, source="placement-accepted")


def _find_in_listing(placed: PlacedCall):
    """Until the mirror has it, ask the API's list (at most every few seconds per placed call)."""
    cache_key = f"voxdash:placed:{placed.idempotency_key}:listing"
    cached = cache.get(cache_key) if settings.VOX_LIST_CACHE_SECONDS else None
    if cached is not None:
        return cached or None
    try:
        page = get_client().list_calls(search=placed.customer_phone, direction="outbound", limit=20)
    except errors.VoxError:
        return None
    found = placement_match(placed, sorted(page.calls, key=lambda c: c.created_at))
    if found is not None and not placed.listed_call_id:
        placement_link(placed, found)
    if settings.VOX_LIST_CACHE_SECONDS:  # a live page polls; a few seconds between list requests
        cache.set(cache_key, found or False, settings.VOX_LIST_CACHE_SECONDS)
    return found


def placed_call_sent_from(*, placed_call: PlacedCall) -> tuple[str, str]:
    """(the number it was placed from, the agent), as the mirror names them; the ids when it
    does not know them (yet)."""
    number_id = str(placed_call.payload.get("business_voice_number_id") or "")
    agent_id = str(placed_call.payload.get("ai_agent_id") or "")
    number = VoiceNumber.objects.filter(vox_id=number_id).values_list("phone_number", flat=True).first()
    agent = Agent.objects.filter(vox_id=agent_id).values_list("name", flat=True).first()
    return (phone_display(number) if number else number_id or "—"), (agent or agent_id or "—")


def placed_call_prefill(key) -> dict:
    """A placed call's body, to fill in the form again ("Call again"); {} for an unknown key."""
    record = PlacedCall.objects.filter(idempotency_key=key).order_by("attempted_at", "id").first()
    return dict(record.payload) if record is not None else {}


# The list's origin filter: "by_hand" is everything a person placed (the form, scheduled calls).
_ORIGIN_FILTERS = {
    "by_hand": [PlacedCall.Origin.FORM, PlacedCall.Origin.SCHEDULED],
    "form": [PlacedCall.Origin.FORM],
    "scheduled": [PlacedCall.Origin.SCHEDULED],
    "campaign": [PlacedCall.Origin.CAMPAIGN],
}


def placed_calls(*, origin: str = "") -> QuerySet[PlacedCall]:
    """Every attempt, newest first; `origin` one of the list filter's values ("" for all)."""
    attempts = PlacedCall.objects.all()
    if origin in _ORIGIN_FILTERS:
        attempts = attempts.filter(origin__in=_ORIGIN_FILTERS[origin])
    return attempts


def placed_call_target(record: PlacedCall) -> Target:
    """A placed call as the audit log names it: the number (and name) called, linked to its page."""
    label = phone_display(record.customer_phone)
    if record.customer_name:
        label += f" ({record.customer_name})"
    url = reverse("placements:detail", kwargs={"key": record.idempotency_key})
    return Target(type="placed call", id=str(record.idempotency_key), label=label, url=url)


@dataclass(frozen=True)
class Origin:
    text: str  # "Place a call", "Scheduled call", "Campaign 3, row 12 (attempt 2)"
    url: str = ""  # the campaign's page, for campaign attempts


# get_origin_display() rebuilds a dict of the field's choices at every call (~5 µs), once a row of a list.
_ORIGIN_LABELS = dict(PlacedCall.Origin.choices)


def placed_call_origin(*, placed_call: PlacedCall, campaign_links: RowLinks | None = None) -> Origin:
    """Where an attempt came from, as the list and the detail page say it. A list passes
    `campaign_links` (RowLinks of campaigns:detail, made once a page) instead of a reverse() a row."""
    if placed_call.origin != PlacedCall.Origin.CAMPAIGN:
        return Origin(_ORIGIN_LABELS.get(placed_call.origin, placed_call.origin))
    campaign, _, rest = placed_call.origin_ref.partition(":")
    row, _, attempt = rest.partition(":")
    if not (campaign.isdigit() and row.isdigit()):
        return Origin(f"Campaign ({placed_call.origin_ref or 'unknown'})")
    text = f"Campaign {campaign}, row {row}" + (f" (attempt {attempt})" if attempt not in ("", "1") else "")
    try:  # placements knows no campaign; the campaigns app names its page
        url = (
            campaign_links.url(int(campaign))
            if campaign_links
            else reverse("campaigns:detail", kwargs={"pk": int(campaign)})
        )
    except NoReverseMatch:
        url = ""
    return Origin(text, url)
