"""What each built-in rule watches: one check per kind, reading what voxdash already keeps.

A check answers "what is wrong right now?" with findings by subject, `{}` when all is well: the
subject is "" for the system-wide rules and a campaign's id for the per-campaign ones. A check
sends nothing and changes nothing; the evaluation (evaluate.py) decides what to open, remind and
resolve. It raises `Unknown` when it cannot tell (the health check could not be sent): the alerts
then stay as they are rather than resolving and firing again.

`KINDS` is the one table of kinds: the check, what the rule's threshold and window mean (the form
and the rule's page show both; None: unused), a one-line description, and how the kind is timed:
- `holds`: the condition must hold for `window` minutes before the alert opens (the evaluation
  keeps `AlertRule.condition_since`): "Vox unreachable for 5 minutes";
- `event`: something that happened rather than a condition (a campaign finished): announced once
  per subject, never reminded, never "resolved".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from voxdash.calls.models import Call, SyncState
from voxdash.campaigns.models import Campaign, CampaignEvent
from voxdash.campaigns.progress import campaign_counts
from voxdash.overview.connection import ConnectionStatus, connection_status
from voxdash.placements.guard import business_hours
from voxdash.placements.models import ACCEPTED_OUTCOMES, PlacedCall
from voxdash.vox import errors, get_client, statuses
from voxdash.webhooks.models import RefusedDelivery, WebhookEvent

from .models import AlertRule

# A rate over fewer finished calls than this says nothing (two failures of three are not an outage).
MIN_CALLS = 10
# Calls placed this recently may simply not have been heard of yet, webhooks working or not.
WEBHOOK_GRACE = timedelta(minutes=5)
# Placed calls older than this without an outcome are history, not news (the campaign's own
# outcome timeout has long made them "unknown").
OUTCOMES_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class Finding:
    summary: str  # what is wrong, in words, for the notice and the page
    value: float | None = None  # the figure behind it (a rate, a count), for the history
    link: str = ""  # where to look, a path in voxdash
    subject_label: str = ""  # the subject's name (a campaign's), empty for system-wide rules


Findings = dict[str, Finding]


class Unknown(Exception):
    """The check cannot tell now: leave the rule's alerts as they are."""


class Kind(NamedTuple):
    check: Callable[[AlertRule, datetime], Findings]
    threshold: str | None  # what the threshold counts: "%", "calls", "refusals"; None: unused
    window: str | None  # what the window (minutes) means; None: unused
    description: str
    holds: bool = False
    event: bool = False


# --- calls that ended: failure and no-answer rates
def _rate(rule: AlertRule, now: datetime, counted: tuple[str, ...], what: str, link_status: str) -> Findings:
    since = now - timedelta(minutes=rule.window_minutes)
    ended = Call.objects.filter(ended_at__gt=since, ended_at__lte=now, status__in=statuses.TERMINAL_STATUSES)
    counts = ended.aggregate(total=Count("id"), matching=Count("id", filter=Q(status__in=counted)))
    total, matching = counts["total"], counts["matching"]
    if total < MIN_CALLS:
        return {}
    rate = 100 * matching / total
    if rate <= rule.threshold:
        return {}
    return {
        "": Finding(
            summary=(
                f"{matching} of the {total} calls that ended in {_last(rule.window_minutes)} "
                f"{what} ({rate:.0f}%, more than {rule.threshold}%)."
            ),
            value=round(rate, 1),
            link=f"{reverse('calls:list')}?status={link_status}",
        )
    }


def failure_rate(rule: AlertRule, now: datetime) -> Findings:
    return _rate(rule, now, (statuses.FAILED,), "failed", statuses.FAILED)


def no_answer_rate(rule: AlertRule, now: datetime) -> Findings:
    return _rate(rule, now, (statuses.NO_ANSWER, statuses.BUSY), "were not answered", statuses.NO_ANSWER)


# --- no calls at all in business hours
def no_calls(rule: AlertRule, now: datetime) -> Findings:
    state = SyncState.objects.filter(name="calls").first()
    if state is None or state.last_finished_at is None:
        return {}  # an empty mirror that never synced knows nothing of the calls made
    # The newest call in the mirror (either direction), or placed and not mirrored yet.
    latest = max(
        (
            at
            for at in (
                Call.objects.order_by("-created_at").values_list("created_at", flat=True).first(),
                PlacedCall.objects.filter(outcome__in=ACCEPTED_OUTCOMES)
                .order_by("-attempted_at")
                .values_list("attempted_at", flat=True)
                .first(),
            )
            if at is not None
        ),
        default=None,
    )
    since = latest or rule.created_at  # no call ever: quiet since voxdash has watched
    hours = business_hours()
    quiet = (now - since).total_seconds() / 60 if hours is None else hours.open_minutes_between(since, now)
    if quiet < rule.window_minutes:
        return {}
    last = f"since {_when(latest)}" if latest else "yet"
    within = "" if hours is None else f" of business hours ({hours.describe()})"
    return {
        "": Finding(
            summary=f"No call {last}: {_span(round(quiet))}{within} without one.",
            value=round(quiet),
            link=reverse("calls:list"),
        )
    }


# --- the connection to Vox (the header's check: at most one GET /health a minute)
def _connection() -> ConnectionStatus:
    status = connection_status()
    if _problem_is(status, (errors.VoxBudgetExhausted, errors.VoxDeadlineSpent)):
        # The check was never sent, and Vox gave no earlier answer to repeat.
        raise Unknown(status.problem)
    return status


def _problem_is(status: ConnectionStatus, classes: tuple[type[errors.VoxError], ...]) -> bool:
    error_class = getattr(errors, status.problem_kind, None)
    return isinstance(error_class, type) and issubclass(error_class, classes)


def vox_unreachable(rule: AlertRule, now: datetime) -> Findings:
    status = _connection()
    # A refused key is key_refused's; a 429 is Vox answering (someone else spends the key's limit).
    if status.ok or status.is_key_problem or _problem_is(status, (errors.VoxRateLimited,)):
        return {}
    # Not the page's words ("try again in a minute"): whoever reads this runs voxdash.
    summary = f"Vox is not answering voxdash's health check: {status.problem} ({status.problem_kind or 'no answer'})"
    return {"": Finding(summary=summary, link=reverse("overview"))}


def key_refused(rule: AlertRule, now: datetime) -> Findings:
    refused = _placement_refused_for_scope()
    try:
        status = _connection()
    except Unknown:
        if refused is None:
            raise
        return {"": refused}
    if status.is_key_problem:
        return {"": Finding(summary=_said(status.problem, status.hint), link=reverse("overview"))}
    return {} if refused is None else {"": refused}


def _placement_refused_for_scope() -> Finding | None:
    """The health check needs no scope, so a key that may read but not place calls shows only when
    a placement is refused: the latest refusal for a missing scope, until an attempt goes through."""
    last = (
        PlacedCall.objects.filter(error_kind=errors.MissingScope.__name__)
        .order_by("-attempted_at", "-id")
        .first()
    )
    if last is None:
        return None
    accepted_since = PlacedCall.objects.filter(
        outcome__in=ACCEPTED_OUTCOMES, attempted_at__gt=last.attempted_at
    )
    if accepted_since.exists():
        return None
    hint = errors.MissingScope(last.error_message).hint
    return Finding(
        summary=_said(
            f"Vox refused to place a call at {_when(last.attempted_at)}: {last.error_message}", hint
        ),
        link=reverse("placements:detail", args=[last.idempotency_key]),
    )


# --- the mirror's sync
def sync_stale(rule: AlertRule, now: datetime) -> Findings:
    state = SyncState.objects.filter(name="calls").first()
    finished = state.last_finished_at if state else None
    window = timedelta(minutes=rule.window_minutes)
    # Never completed: stale only once voxdash has been running (its rules exist) that long.
    if now - (finished or rule.created_at) < window:
        return {}
    if finished is None:
        summary = "The call history's sync has never completed."
        value = None
    else:
        minutes = round((now - finished).total_seconds() / 60)
        summary = (
            f"The call history's sync has not completed for {_span(minutes)} (last at {_when(finished)})."
        )
        value = minutes
    if state is not None and state.last_error:
        summary += f" The last run failed: {state.last_error}"
    return {"": Finding(summary=summary, value=value, link=reverse("calls:list"))}


# --- webhooks
def webhooks_refused(rule: AlertRule, now: datetime) -> Findings:
    since = now - timedelta(minutes=rule.window_minutes)
    # Under a flood the receiver keeps only a sample (REFUSALS_PER_MINUTE a minute, the newest
    # REFUSALS_KEPT in all): this counts what it kept, which may be fewer than it refused.
    refused = RefusedDelivery.objects.filter(received_at__gt=since, received_at__lte=now)
    count = refused.count()
    if count <= rule.threshold:
        return {}
    latest = refused.order_by("-received_at", "-id").values_list("reason", flat=True).first()
    return {
        "": Finding(
            summary=(
                f"{count} webhook deliveries refused in {_last(rule.window_minutes)} (more than "
                f"{rule.threshold}); the latest: {latest}. A rotated secret? Check VOX_WEBHOOK_SECRET."
            ),
            value=count,
            link=reverse("webhooks:log"),
        )
    }


def webhooks_silent(rule: AlertRule, now: datetime) -> Findings:
    if not settings.VOX_WEBHOOK_SECRET:
        return {}  # webhooks are not set up: silence is expected
    since = now - timedelta(minutes=rule.window_minutes)
    placed = PlacedCall.objects.filter(
        outcome__in=ACCEPTED_OUTCOMES, attempted_at__gt=since, attempted_at__lte=now
    )
    oldest = placed.aggregate(oldest=Min("attempted_at"))["oldest"]
    if oldest is None or now - oldest < WEBHOOK_GRACE:
        return {}
    if WebhookEvent.objects.filter(received_at__gt=since).exists():
        return {}
    calls = placed.values("idempotency_key").distinct().count()
    return {
        "": Finding(
            summary=(
                f"{_count(calls, 'call')} placed in {_last(rule.window_minutes)}, and no webhook "
                "from Vox in that time. Check the webhook URL in the Cloove dashboard and that voxdash "
                "is reachable from the internet."
            ),
            value=calls,
            link=reverse("webhooks:log"),
        )
    }


# --- outcomes
def outcomes_missing(rule: AlertRule, now: datetime) -> Findings:
    ended = Call.objects.filter(status__in=statuses.TERMINAL_STATUSES).values("vox_id")
    waiting = PlacedCall.objects.filter(
        outcome__in=ACCEPTED_OUTCOMES,
        attempted_at__gt=now - OUTCOMES_LOOKBACK,
        attempted_at__lte=now - timedelta(minutes=rule.window_minutes),
    ).exclude(listed_call_id__in=ended)
    # Attempts sharing a key are one call.
    calls = waiting.values("idempotency_key").distinct().count()
    if calls < max(1, rule.threshold):
        return {}
    return {
        "": Finding(
            summary=(
                f"{_count(calls, 'call')} placed more than {_span(rule.window_minutes)} ago without an "
                "outcome heard: no webhook, and the sync has not seen it end."
            ),
            value=calls,
            link=reverse("placements:list"),
        )
    }


# --- campaigns
def campaign_breaker(rule: AlertRule, now: datetime) -> Findings:
    latest_action = (
        CampaignEvent.objects.filter(campaign=OuterRef("pk")).order_by("-at", "-id").values("action")
    )
    paused = Campaign.objects.filter(state=Campaign.State.PAUSED).annotate(latest=Subquery(latest_action[:1]))
    return {
        str(campaign.pk): Finding(
            summary=f"{campaign.name} paused itself: {campaign.pause_reason}",
            link=reverse("campaigns:detail", args=[campaign.pk]),
            subject_label=campaign.name,
        )
        for campaign in paused.filter(latest=CampaignEvent.Action.BREAKER)
    }


def campaign_finished(rule: AlertRule, now: datetime) -> Findings:
    since = now - timedelta(minutes=rule.window_minutes)
    finished = list(Campaign.objects.filter(state=Campaign.State.FINISHED, finished_at__gt=since))
    counts = campaign_counts(campaign_ids=[c.pk for c in finished])
    findings = {}
    for campaign in finished:
        rows = counts[campaign.pk]
        completed = rows.get("completed", 0)
        findings[str(campaign.pk)] = Finding(
            summary=(
                f"{campaign.name} finished at {_when(campaign.finished_at)}: {completed} of "
                f"{_count(sum(rows.values()), 'row')} completed."
            ),
            value=completed,
            link=reverse("campaigns:detail", args=[campaign.pk]),
            subject_label=campaign.name,
        )
    return findings


# --- the shared request budget
def budget_exhausted(rule: AlertRule, now: datetime) -> Findings:
    budget = get_client().budget
    if budget is None or rule.window_minutes < 1:
        return {}  # no budget (VOX_REQUESTS_PER_MINUTE=0): nothing is ever refused
    counts = budget.refusals(rule.window_minutes)
    if not all(counts):
        return {}
    return {
        "": Finding(
            summary=(
                f"voxdash's shared Vox request budget refused requests in each of "
                f"{_last(rule.window_minutes)} ({_count(sum(counts), 'refusal')}): pages answer from "
                "the mirror and background work waits. Something is using more than its share."
            ),
            value=sum(counts),
            link=reverse("overview"),
        )
    }


KINDS: dict[str, Kind] = {
    AlertRule.Kind.FAILURE_RATE: Kind(
        failure_rate,
        "%",
        "calls that ended in the last … minutes",
        f"More than this share of the calls that ended in the window failed (at least {MIN_CALLS} ended).",
    ),
    AlertRule.Kind.NO_ANSWER_RATE: Kind(
        no_answer_rate,
        "%",
        "calls that ended in the last … minutes",
        f"More than this share of the calls that ended in the window were not answered or busy "
        f"(at least {MIN_CALLS} ended).",
    ),
    AlertRule.Kind.NO_CALLS: Kind(
        no_calls,
        None,
        "minutes of business hours without a call",
        "No call made or received for this long in business hours (VOXDASH_BUSINESS_HOURS).",
    ),
    AlertRule.Kind.VOX_UNREACHABLE: Kind(
        vox_unreachable,
        None,
        "minutes it must last",
        "Vox does not answer voxdash's health check (down, a timeout, a server error).",
        holds=True,
    ),
    AlertRule.Kind.KEY_REFUSED: Kind(
        key_refused,
        None,
        "minutes it must last",
        "Vox refuses voxdash's API key: invalid, expired, refused for this address, or missing the "
        "scope to place calls.",
        holds=True,
    ),
    AlertRule.Kind.SYNC_STALE: Kind(
        sync_stale,
        None,
        "minutes without a complete sync",
        "The mirror's sync of the call history has not completed for this long (and why, if it failed).",
    ),
    AlertRule.Kind.WEBHOOKS_REFUSED: Kind(
        webhooks_refused,
        "refusals",
        "the last … minutes",
        "More than this many webhook deliveries refused (bad or stale signature) in the window.",
    ),
    AlertRule.Kind.WEBHOOKS_SILENT: Kind(
        webhooks_silent,
        None,
        "the last … minutes",
        "Calls were placed in the window, yet no webhook arrived in it (only when VOX_WEBHOOK_SECRET is set).",
    ),
    AlertRule.Kind.OUTCOMES_MISSING: Kind(
        outcomes_missing,
        "calls",
        "minutes since the call was placed",
        "At least this many calls placed longer ago than the window (within a day) whose outcome "
        "voxdash has not heard.",
    ),
    AlertRule.Kind.CAMPAIGN_BREAKER: Kind(
        campaign_breaker,
        None,
        None,
        "A campaign paused itself (its circuit breaker); resolves when it is resumed or cancelled.",
    ),
    AlertRule.Kind.CAMPAIGN_FINISHED: Kind(
        campaign_finished,
        None,
        "campaigns finished in the last … minutes",
        "A campaign finished: announced once per campaign.",
        event=True,
    ),
    AlertRule.Kind.BUDGET_EXHAUSTED: Kind(
        budget_exhausted,
        None,
        "minutes in a row with refusals",
        "The shared Vox request budget refused requests in each minute of the window.",
    ),
}


# --- wording
def _span(minutes: int) -> str:
    """90 -> '90 minutes', 60 -> '1 hour', 240 -> '4 hours'."""
    if minutes and minutes % 60 == 0:
        return _count(minutes // 60, "hour")
    return _count(minutes, "minute")


def _last(minutes: int) -> str:
    """'the last hour', 'the last 4 hours', 'the last 90 minutes'."""
    return "the last hour" if minutes == 60 else f"the last {_span(minutes)}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n:,} {noun}s"


def _when(at: datetime) -> str:
    return timezone.localtime(at).strftime("%d %b %H:%M %Z").lstrip("0")


def _said(problem: str, hint: str) -> str:
    return f"{problem} {hint}".strip()
