"""What /alerts/ shows: open alerts, the rules in words, the channels, the history (reads only).

A fixed number of queries however many rules, alerts and deliveries there are (the history page's
budget): the open alerts one query; the rules and the channels three (each table, and the links
between them read once for both); the history one COUNT, one page and one query of that page's
deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from voxdash.lib.caching import cached_forget, cached_or_fetch
from voxdash.lib.filter_links import FilterChoice, filter_choices
from voxdash.lib.formatting import Moment, moment
from voxdash.lib.paging import Pager, pager

from . import notify
from .checks import KINDS
from .models import Alert, AlertChannel, AlertDelivery, AlertRule

HISTORY_PER_PAGE = 25
# The staff menu's count of open alerts is on every staff page. A COUNT there cost ~0.4 ms a page
# (issue 15), for a figure that changes when an evaluation opens or resolves one: it is kept for
# everyone, and a few seconds in each web process, and forgotten whenever an alert is opened,
# resolved or deleted (AlertsConfig.ready). So the process that changed it shows the new count at
# once, and the others within OPEN_COUNT_KEPT_HERE seconds (within OPEN_COUNT_KEPT_SECONDS while
# Redis is down: each process then keeps its own copy).
OPEN_COUNT_KEY = "voxdash:alerts:open-count"
# Bounds a count re-cached by a page that read it just before a change committed.
OPEN_COUNT_KEPT_SECONDS = 30
OPEN_COUNT_KEPT_HERE = 5
OPEN, RESOLVED = "open", "resolved"
STATE_CHOICES = [("", "All"), (OPEN, "Open"), (RESOLVED, "Resolved")]


@dataclass(frozen=True)
class RuleRow:
    rule: AlertRule
    url: str
    kind: str  # the kind's name when the rule's own differs ("Failed calls"), else ""
    condition: str  # "More than 30% of the last 60 minutes' ended calls"
    cooldown: str
    channels: str  # "Every-rule channels, and Ops Slack"
    last_evaluated: Moment | None


# The history is the page's hot loop (25 alerts, each with its notices): its rows are plain values,
# times and links made here once, so the template only writes them out.
DELIVERY_BADGES = {
    AlertDelivery.State.DELIVERED: "badge-ok",
    AlertDelivery.State.GAVE_UP: "badge-failed",
    AlertDelivery.State.RETRYING: "badge-unknown",
}


@dataclass(frozen=True)
class DeliveryRow:
    notice: str  # "Fired"
    channel: str
    state: str  # "delivered", for styling and tests
    state_label: str
    badge: str  # the badge's class
    attempts: int
    delivered: Moment | None
    error: str


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    rule_name: str
    rule_url: str
    opened: Moment
    resolved: Moment | None
    last_notified: Moment | None
    deliveries: list[DeliveryRow]


@dataclass(frozen=True)
class ChannelRow:
    channel: AlertChannel
    url: str  # masked: tokens and passwords as •••
    scope: str  # "Every rule" or the rules that name it
    test_url: str  # where "Send test" posts
    failing_since: Moment | None  # set while the channel is failing
    last_delivered: Moment | None


@dataclass(frozen=True)
class History:
    page: Page
    rows: list[AlertRow]
    pager: Pager
    rule_choices: list[FilterChoice]
    state_choices: list[FilterChoice]
    filtered: bool


@dataclass(frozen=True)
class Threshold:
    """What a kind's threshold is: "%" (1-100), or a count of something, with its bounds."""

    unit: str  # "%" or a plural noun ("refusals", "calls")
    low: int
    high: int
    label: str  # the form's label
    help: str


@dataclass(frozen=True)
class KindMeaning:
    description: str  # one line, for the form and the rules table
    threshold: Threshold | None  # None: the kind has no threshold (the field is not on the form)
    window: str | None  # what the window is, for the form; None: the kind has none
    # The rule in words, with {threshold}, {window} ("60 minutes") and {windows} ("60 minutes'").
    condition: str


def minutes_text(minutes: int) -> str:
    """60 -> "60 minutes", 1 -> "1 minute", 0 -> "none"."""
    if not minutes:
        return "none"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def alerts_open(*, rules: list[AlertRule]) -> list[AlertRow]:
    """Open alerts, oldest first: what has been wrong longest leads. `rules`: every rule (the page
    has them already, so the alerts are read without joining theirs)."""
    alerts = Alert.objects.filter(resolved_at=None).order_by("opened_at", "id")
    return alert_rows(list(alerts), rules=rules, deliveries={})


NOTICE_LABELS = dict(AlertDelivery.Notice.choices)
STATE_LABELS = dict(AlertDelivery.State.choices)
DELIVERY_FIELDS = ("alert_id", "notice", "channel_name", "state", "attempts", "delivered_at", "last_error")


def open_alert_count() -> int:
    return cached_or_fetch(
        OPEN_COUNT_KEY,
        OPEN_COUNT_KEPT_SECONDS,
        lambda: Alert.objects.filter(resolved_at=None).count(),
        kept_here=OPEN_COUNT_KEPT_HERE,
    )


def open_alert_count_forget() -> None:
    """The open alerts changed: forget the count once the change commits (a count kept meanwhile,
    before the commit, is the old figure), and inside a transaction at once too (what this
    connection reads before the commit sees the change already)."""
    if transaction.get_connection().in_atomic_block:
        cached_forget(OPEN_COUNT_KEY)
    # robust: the alert's notices queue their sending on the same commit, which a cache error
    # here must not cost.
    transaction.on_commit(lambda: cached_forget(OPEN_COUNT_KEY), robust=True)


def open_alert_count_saved(*, created: bool, update_fields=None, **_signal) -> None:
    """Alert's post_save: opened, or saved with its resolved_at (not a notice's time or a summary)."""
    if created or update_fields is None or "resolved_at" in update_fields:
        open_alert_count_forget()


def open_alert_count_deleted(**_signal) -> None:
    """Alert's post_delete (a rule deleted in the admin takes its alerts along)."""
    open_alert_count_forget()


def alert_deliveries(alert_ids: list[int]) -> dict[int, list[DeliveryRow]]:
    """The notices about these alerts, oldest first, by alert. One query of plain values: as model
    instances through a prefetch, 50 of them cost twice as much (and they are only written out)."""
    tz = timezone.get_current_timezone()
    found: dict[int, list[DeliveryRow]] = defaultdict(list)
    rows = (
        AlertDelivery.objects.filter(alert_id__in=alert_ids)
        .order_by("created_at", "id")
        .values_list(*DELIVERY_FIELDS)
    )
    for alert_id, notice, channel, state, attempts, delivered_at, error in rows:
        found[alert_id].append(
            DeliveryRow(
                notice=NOTICE_LABELS.get(notice, notice),
                channel=channel,
                state=state,
                state_label=STATE_LABELS.get(state, state),
                badge=DELIVERY_BADGES.get(state, "badge-queued"),
                attempts=attempts,
                delivered=moment(delivered_at, tz, seconds=True),
                error=error,
            )
        )
    return found


def alert_rows(
    alerts: list[Alert], *, rules: list[AlertRule], deliveries: dict[int, list[DeliveryRow]]
) -> list[AlertRow]:
    """The alerts as rows, each with its rule's name and link (from `rules`) and its notices."""
    tz = timezone.get_current_timezone()
    rule_of = {rule.pk: rule for rule in rules}
    urls: dict[int, str] = {}
    rows = []
    for alert in alerts:
        # A rule added since `rules` was read is asked for (alert.rule: one query), never missed.
        rule = rule_of.get(alert.rule_id) or alert.rule
        if rule.pk not in urls:
            urls[rule.pk] = rule.get_absolute_url()
        rows.append(
            AlertRow(
                alert=alert,
                rule_name=rule.name,
                rule_url=urls[rule.pk],
                opened=moment(alert.opened_at, tz),
                resolved=moment(alert.resolved_at, tz),
                last_notified=moment(alert.last_notified_at, tz),
                deliveries=deliveries.get(alert.pk, []),
            )
        )
    return rows


def free_rule_name(base: str) -> str:
    """ "Failed calls (2)", or (3) if that is taken: a new rule's name no other rule has."""
    taken = {name.lower() for name in AlertRule.objects.values_list("name", flat=True)}
    number = 2
    while f"{base} ({number})".lower() in taken:
        number += 1
    return f"{base} ({number})"


def alert_rules_and_channels() -> tuple[list[RuleRow], list[ChannelRow]]:
    """The rules table and the channels table. Three queries: the rules, the channels, and the
    links between them (read once, for both the rules' channels and the channels' rules)."""
    rules = list(AlertRule.objects.all())  # by name (Meta.ordering), as each table lists them
    channels = list(AlertChannel.objects.all())
    channel_ids_of: dict[int, set[int]] = defaultdict(set)
    for rule_id, channel_id in AlertRule.channels.through.objects.values_list(
        "alertrule_id", "alertchannel_id"
    ):
        channel_ids_of[rule_id].add(channel_id)
    # Names are listed in the database's order of the tables above (its collation, not Python's).
    channels_of = {
        rule.pk: [channel.name for channel in channels if channel.pk in channel_ids_of[rule.pk]]
        for rule in rules
    }
    rules_of = {
        channel.pk: [rule.name for rule in rules if channel.pk in channel_ids_of[rule.pk]]
        for channel in channels
    }
    tz = timezone.get_current_timezone()
    rule_rows = [
        RuleRow(
            rule=rule,
            url=rule.get_absolute_url(),
            kind="" if rule.name == rule.get_kind_display() else rule.get_kind_display(),
            condition=condition_text(rule),
            cooldown="Told once" if KINDS[rule.kind].event else cooldown_text(rule.cooldown_minutes),
            channels=rule_channels_text(channels_of[rule.pk]),
            last_evaluated=moment(rule.last_evaluated_at, tz),
        )
        for rule in rules
    ]
    channel_rows = [
        ChannelRow(
            channel=channel,
            url=notify.masked_url(channel),
            scope=channel_scope_text(channel, rules_of[channel.pk]),
            test_url=reverse("alerts:channel_test", args=[channel.pk]),
            failing_since=moment(channel.last_failed_at, tz) if channel.failing else None,
            last_delivered=moment(channel.last_delivered_at, tz),
        )
        for channel in channels
    ]
    return rule_rows, channel_rows


def cooldown_text(minutes: int) -> str:
    if not minutes:
        return "No reminders"
    return f"At most one notice every {minutes_text(minutes)}"


def rule_channels_text(named: list[str]) -> str:
    """The channels a rule notifies, given those it names."""
    if not named:
        return "Every-rule channels"
    return "Every-rule channels, and " + ", ".join(named)


def channel_scope_text(channel: AlertChannel, named_by: list[str]) -> str:
    """Which rules' notices a channel receives, given the rules that name it."""
    if channel.every_rule:
        return "Every rule"
    return "Only " + ", ".join(named_by) if named_by else "No rule names it yet"


def alert_history(
    *, rules: list[AlertRule], rule_id: int | None, state: str, page_number, query: QueryDict
) -> History:
    """Alerts, newest first, with their deliveries (oldest first), optionally of one rule and state.
    `rules`: every rule (the rule filter names each, and each row its alert's); `query`: the
    page's query string, `request.GET` (the filter and page links keep the rest of it)."""
    alerts = Alert.objects.all()
    if rule_id:
        alerts = alerts.filter(rule_id=rule_id)
    if state == OPEN:
        alerts = alerts.filter(resolved_at=None)
    elif state == RESOLVED:
        alerts = alerts.exclude(resolved_at=None)
    page = Paginator(alerts.order_by("-opened_at", "-id"), HISTORY_PER_PAGE).get_page(page_number or 1)
    shown = list(page.object_list)
    rule_options = [("", "All"), *((str(rule.pk), rule.name) for rule in rules)]
    return History(
        page=page,
        rows=alert_rows(shown, rules=rules, deliveries=alert_deliveries([alert.pk for alert in shown])),
        pager=pager(page.paginator, page.number, on_ends=1, query=query),
        rule_choices=filter_choices("rule", rule_options, str(rule_id or ""), query=query),
        state_choices=filter_choices("state", STATE_CHOICES, state, query=query),
        filtered=bool(rule_id or state),
    )


# The rule in words, per kind: what the kind watches is checks.KINDS's; this is only how the page
# says a rule's numbers. {threshold}, {window} ("60 minutes") and {windows} ("60 minutes'") appear
# exactly when KINDS says the kind uses them (tests/alerts/test_views_rule.py holds the two together).
Kind = AlertRule.Kind
CONDITIONS: dict[str, str] = {
    Kind.FAILURE_RATE: "More than {threshold}% of the last {windows} ended calls failed",
    Kind.NO_ANSWER_RATE: "More than {threshold}% of the last {windows} ended calls not answered",
    Kind.NO_CALLS: "No call for {window} of business hours",
    Kind.VOX_UNREACHABLE: "Vox unreachable for {window}",
    Kind.KEY_REFUSED: "Vox refused the API key for {window}",
    Kind.SYNC_STALE: "No complete sync of the call history for {window}",
    Kind.WEBHOOKS_REFUSED: "More than {threshold} webhook deliveries refused in the last {window}",
    Kind.WEBHOOKS_SILENT: "Calls placed but no webhook received in the last {window}",
    Kind.OUTCOMES_MISSING: "At least {threshold} placed {calls} without an outcome after {window}",
    Kind.CAMPAIGN_BREAKER: "A campaign paused itself",
    Kind.CAMPAIGN_FINISHED: "A campaign finished in the last {window}",
    Kind.BUDGET_EXHAUSTED: "The request budget refused requests in each of the last {window}",
}
COUNT_MAX = 1_000_000


def kind_meaning(kind: str) -> KindMeaning:
    """What a kind's threshold and window are (checks.KINDS), for the form and the pages."""
    spec = KINDS[kind]
    threshold = None
    if spec.threshold == "%":
        threshold = Threshold(
            unit="%", low=1, high=100, label="Threshold (%)", help="A percentage from 1 to 100."
        )
    elif spec.threshold:
        noun = spec.threshold
        threshold = Threshold(
            unit=noun, low=1, high=COUNT_MAX, label=f"Threshold ({noun})", help=f"How many {noun}: 1 or more."
        )
    window = f"In minutes: {spec.window}." if spec.window else None
    return KindMeaning(
        description=spec.description, threshold=threshold, window=window, condition=CONDITIONS[kind]
    )


def condition_text(rule: AlertRule) -> str:
    """The rule in words: "More than 30% of the last 60 minutes' ended calls failed"."""
    meaning = kind_meaning(rule.kind)
    window = minutes_text(rule.window_minutes)
    possessive = window + ("'" if window.endswith("s") else "'s")  # "60 minutes'", "1 minute's"
    calls = "call" if rule.threshold == 1 else "calls"
    return meaning.condition.format(threshold=rule.threshold, window=window, windows=possessive, calls=calls)
