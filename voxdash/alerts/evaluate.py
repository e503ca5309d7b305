"""Evaluating the rules (beat, every VOXDASH_ALERTS_EVERY seconds; never a web request): open,
remind, resolve.

For each enabled rule its check (checks.KINDS) says what is wrong now, by subject; then:
- a condition that starts (for the `holds` kinds: has held `window` minutes) opens an Alert and
  sends "fired", unless this rule and subject had a notice less than `cooldown` ago (a flapping
  condition): then it opens silently, and "fired" goes once the cooldown has passed, if it holds;
- one that still holds updates the alert's summary and value, and sends "reminder" each time
  `cooldown` minutes have passed since its last notice (cooldown 0: never);
- one that cleared resolves the alert, with "resolved" only if "fired" went out for it;
- an `event` kind (a campaign finished) opens, notifies and resolves at once, once per subject;
- a disabled rule's open alerts resolve silently.
A check that raises is logged and kept in `rule.last_error`; its alerts stay as they are and the
other rules go on. `checks.Unknown` (cannot tell now) leaves them as they are too.

Checks run outside any transaction (the health check may take seconds: no lock is held meanwhile);
each rule's outcome is then applied in one transaction that locks the rule's row and re-reads its
open alerts, so two evaluations at once (two beats, a slow run) apply one after the other and the
second finds the first's notices: nothing is said twice. (SQLite has no row locks; its
transactions begin IMMEDIATE in our settings, which serialises them the same way.) Notices are
queued in that transaction (`alert_notify` writes AlertDelivery rows) and sent after commit by
the delivery task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Max
from django.utils import timezone

from . import checks
from .models import Alert, AlertDelivery, AlertRule
from .notify import alert_notify

logger = logging.getLogger(__name__)

Notice = AlertDelivery.Notice


@dataclass
class EvaluationSummary:
    rules: int = 0  # enabled rules evaluated
    opened: int = 0
    resolved: int = 0
    notices: int = 0  # notices queued (each is one delivery per channel)
    failed: list[str] = field(default_factory=list)  # rules whose check (or its record) failed

    def __str__(self) -> str:
        failed = f", failed: {', '.join(self.failed)}" if self.failed else ""
        return (
            f"{self.rules} rules, {self.opened} opened, {self.resolved} resolved, "
            f"{self.notices} notices{failed}"
        )


def alerts_evaluate(*, now: datetime | None = None) -> EvaluationSummary:
    now = now or timezone.now()
    summary = EvaluationSummary()
    for rule in AlertRule.objects.order_by("id"):
        if (
            not rule.enabled
            and rule.condition_since is None
            and not rule.alerts.filter(resolved_at=None).exists()
        ):
            continue  # off, and nothing of it left open
        findings, error = None, ""
        if rule.enabled:
            summary.rules += 1
            findings, error = _run_check(rule, now)
            if error:
                summary.failed.append(rule.name)
        try:
            with transaction.atomic():
                _apply(rule.pk, findings, error, now, summary)
        except DatabaseError:
            logger.exception("alert rule %r: its evaluation could not be recorded", rule.name)
            summary.failed.append(rule.name)
    # Every minute: worth a line only when something opened, resolved or failed.
    quiet = not (summary.opened or summary.resolved or summary.notices or summary.failed)
    logger.log(logging.DEBUG if quiet else logging.INFO, "alerts evaluated: %s", summary)
    return summary


def _run_check(rule: AlertRule, now: datetime) -> tuple[checks.Findings | None, str]:
    """(findings, "") or, when the check cannot tell, (None, "") or (None, why it failed)."""
    kind = checks.KINDS.get(rule.kind)
    if kind is None:
        return None, f"Unknown kind {rule.kind!r}"
    try:
        return kind.check(rule, now), ""
    except checks.Unknown:
        return None, ""
    except Exception as exc:  # one broken check must not silence the others
        logger.exception("alert rule %r: its check failed", rule.name)
        return None, f"{type(exc).__name__}: {exc}"[:2000]


def _apply(
    rule_pk: int, findings: checks.Findings | None, error: str, now: datetime, summary: EvaluationSummary
) -> None:
    rule = AlertRule.objects.select_for_update().filter(pk=rule_pk).first()
    if rule is None:
        return  # deleted meanwhile
    open_alerts = {a.subject: a for a in rule.alerts.filter(resolved_at=None)}
    if not rule.enabled:  # (checked again under the lock: it may have been turned off meanwhile)
        for alert in open_alerts.values():
            _resolve(alert, now, summary, notify=False)
        if rule.condition_since is not None:
            rule.condition_since = None
            rule.save(update_fields=["condition_since"])
        return
    rule.last_evaluated_at, rule.last_error = now, error
    if findings is not None:
        kind = checks.KINDS[rule.kind]
        ready = _held_long_enough(rule, bool(findings), now) if kind.holds else True
        for subject, finding in findings.items():
            alert = open_alerts.pop(subject, None)
            if alert is not None:
                _still_holding(alert, finding, now, summary)
            elif ready:
                _start(rule, subject, finding, now, summary, event=kind.event)
        for alert in open_alerts.values():  # not found any more: cleared
            _resolve(alert, now, summary, notify=alert.last_notified_at is not None)
    rule.save(update_fields=["last_evaluated_at", "last_error", "condition_since"])


def _slack() -> timedelta:
    # Beat's runs start a moment early or late: a condition seen by two runs a window apart has
    # held for the window, and a reminder due at this run is not put off to the next.
    return timedelta(seconds=settings.VOXDASH_ALERTS_EVERY / 2)


def _held_long_enough(rule: AlertRule, holds: bool, now: datetime) -> bool:
    """Keep `condition_since` (when the condition was first seen without a break) and say whether
    it has held for the rule's window."""
    if not holds:
        rule.condition_since = None
        return False
    rule.condition_since = rule.condition_since or now
    return now - rule.condition_since >= timedelta(minutes=rule.window_minutes) - _slack()


def _start(
    rule: AlertRule,
    subject: str,
    finding: checks.Finding,
    now: datetime,
    summary: EvaluationSummary,
    *,
    event: bool,
) -> None:
    if event and rule.alerts.filter(subject=subject).exists():
        return  # announced already: an event is told once
    alert = Alert.objects.create(
        rule=rule,
        subject=subject,
        subject_label=finding.subject_label,
        opened_at=now,
        summary=finding.summary,
        value=finding.value,
        link=finding.link,
    )
    summary.opened += 1
    if event:
        # Nothing will clear, so it is over as soon as it is told: resolved at once, and quietly
        # (the notice is the news; a "resolved" would only repeat it).
        _notify(alert, Notice.FIRED, summary)
        _resolve(alert, now, summary, notify=False)
    elif not _cooling_down(alert, now):
        _notify(alert, Notice.FIRED, summary)
    # else: opened silently; _still_holding sends "fired" once the cooldown has passed.


def _still_holding(alert: Alert, finding: checks.Finding, now: datetime, summary: EvaluationSummary) -> None:
    alert.summary, alert.value, alert.link = finding.summary, finding.value, finding.link
    alert.subject_label = finding.subject_label or alert.subject_label
    alert.save(update_fields=["summary", "value", "link", "subject_label"])
    if alert.last_notified_at is None:  # opened during a cooldown, never told
        if not _cooling_down(alert, now):
            _notify(alert, Notice.FIRED, summary)
        return
    cooldown = timedelta(minutes=alert.rule.cooldown_minutes)
    if cooldown and now - alert.last_notified_at >= cooldown - _slack():
        _notify(alert, Notice.REMINDER, summary)


def _cooling_down(alert: Alert, now: datetime) -> bool:
    """Whether this rule and subject had a notice (any alert's, resolved ones too) within the
    cooldown: a condition that clears and comes back stays quiet until the cooldown has passed."""
    cooldown = timedelta(minutes=alert.rule.cooldown_minutes)
    if not cooldown:
        return False
    last = Alert.objects.filter(rule_id=alert.rule_id, subject=alert.subject).aggregate(
        last=Max("last_notified_at")
    )["last"]
    return last is not None and now - last < cooldown - _slack()


def _resolve(alert: Alert, now: datetime, summary: EvaluationSummary, *, notify: bool) -> None:
    alert.resolved_at = now
    alert.save(update_fields=["resolved_at"])
    summary.resolved += 1
    if notify:
        _notify(alert, Notice.RESOLVED, summary)


def _notify(alert: Alert, notice: str, summary: EvaluationSummary) -> None:
    alert_notify(alert=alert, notice=notice)
    summary.notices += 1
