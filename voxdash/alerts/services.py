"""Changing alert rules and channels by hand (the /alerts/ pages and the admin), each change audited.

One place says what a change was: the pages and the admin both record `{"changed": {field: [old,
new]}}` (channels by name), in the same transaction as the change, so the audit log never shows a
change that rolled back. A channel's URL carries secrets (tokens, passwords): the log only says
that it changed, never what it was or became.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from voxdash.audit.log import Action, audit_record

from .builtin import BUILTIN_RULES
from .models import AlertChannel, AlertRule

# What a person may change on a rule (its kind and built-in flag are fixed once made).
RULE_FIELDS = ("name", "enabled", "threshold", "window_minutes", "cooldown_minutes")
CHANNEL_FIELDS = ("name", "kind", "url", "every_rule", "enabled")
SECRET = "•••"  # what the log shows for a secret-bearing value that changed


class BuiltinRuleError(Exception):
    """Built-in rules are turned off, never deleted (the evaluation and the docs count on them)."""


def rule_snapshot(rule: AlertRule) -> dict[str, Any]:
    """The rule's changeable values, channels as sorted names (an unsaved rule has none)."""
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    values["channels"] = sorted(c.name for c in rule.channels.all()) if rule.pk else []
    return values


def channel_snapshot(channel: AlertChannel) -> dict[str, Any]:
    return {name: getattr(channel, name) for name in CHANNEL_FIELDS}


def changes(before: dict[str, Any], after: dict[str, Any], *, secret: tuple[str, ...] = ()) -> dict:
    """{field: [old, new]} for the fields whose value differs; secret fields as ["•••", "•••"]."""
    changed = {}
    for name, new in after.items():
        old = before.get(name)
        if old != new:
            if name in secret:  # that it changed, never what it was or is
                changed[name] = [None if not old else SECRET, None if not new else SECRET]
            else:
                changed[name] = [old, new]
    return changed


def alert_rule_save(
    *,
    rule: AlertRule,
    fields: dict[str, Any],
    channels: list[AlertChannel] | None,
    request: HttpRequest,
    via: str = "",
) -> dict:
    """Create (`rule.pk` None: its kind set) or change a rule; return what changed. A save that
    changes nothing records nothing."""
    with transaction.atomic():
        before = rule_snapshot(rule) if rule.pk else {}
        created = rule.pk is None
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.save()
        if channels is not None:
            rule.channels.set(channels)
        changed = alert_rule_audit(rule=rule, before=before, created=created, request=request, via=via)
    return changed


def alert_rule_audit(
    *, rule: AlertRule, before: dict[str, Any], created: bool, request: HttpRequest, via: str = ""
) -> dict:
    """Record a rule's creation or change, its channels included (the admin calls this once its
    many-to-many is saved). Returns what changed."""
    after = rule_snapshot(rule)
    if created:
        after = {"kind": rule.kind, **after}
    changed = changes(before, after)
    if created or changed:
        action = Action.ALERT_RULE_CREATED if created else Action.ALERT_RULE_CHANGED
        audit_record(action=action, request=request, target=rule, detail={"changed": changed}, via=via)
    return changed


def alert_rule_delete(*, rule: AlertRule, request: HttpRequest, via: str = "") -> None:
    if rule.builtin:
        raise BuiltinRuleError(f"“{rule.name}” is one of voxdash's own rules: turn it off instead.")
    with transaction.atomic():
        # Recorded first, while the rule still has its pk and link (the entry keeps both).
        gone = {name: [value, None] for name, value in rule_snapshot(rule).items()}
        detail = {"kind": rule.kind, "changed": gone}
        audit_record(action=Action.ALERT_RULE_DELETED, request=request, target=rule, detail=detail, via=via)
        rule.delete()


def alert_channel_audit(
    *, channel: AlertChannel, before: dict[str, Any], created: bool, request: HttpRequest, via: str = ""
) -> dict:
    """Record a channel's creation or change (never its URL's value). Returns what changed."""
    changed = changes(before, channel_snapshot(channel), secret=("url",))
    if created or changed:
        action = Action.ALERT_CHANNEL_CREATED if created else Action.ALERT_CHANNEL_CHANGED
        audit_record(action=action, request=request, target=channel, detail={"changed": changed}, via=via)
    return changed


def alert_channel_delete(*, channel: AlertChannel, request: HttpRequest, via: str = "") -> None:
    with transaction.atomic():
        detail = {"kind": channel.kind, "from_environment": channel.from_environment}
        audit_record(
            action=Action.ALERT_CHANNEL_DELETED, request=request, target=channel, detail=detail, via=via
        )
        channel.delete()


def _missing_builtin_rules() -> list[tuple[str, dict[str, Any]]]:
    """(kind, field values) of each of voxdash's own rules the table lacks, with its defaults."""
    present = set(AlertRule.objects.filter(builtin=True).values_list("kind", flat=True))
    return [
        (kind, {"name": name, "threshold": threshold, "window_minutes": window, "cooldown_minutes": cooldown})
        for kind, name, threshold, window, cooldown in BUILTIN_RULES
        if kind not in present
    ]


def alert_rules_restore(*, request: HttpRequest, via: str = "") -> list[AlertRule]:
    """Make again each of voxdash's own rules that is missing (a database restored from before a
    kind existed, or a rule removed by hand in the shell), with its defaults; each one audited."""
    made = []
    for kind, fields in _missing_builtin_rules():
        rule = AlertRule(kind=kind, builtin=True)
        alert_rule_save(rule=rule, fields=fields, channels=None, request=request, via=via)
        made.append(rule)
    return made


def alert_rules_ensure_builtin(**kwargs) -> None:
    """After `migrate` (and `flush`, which empties the table the migration filled): voxdash's own
    rules exist. Not a person's change, so not audited; a rule someone turned off stays off."""
    AlertRule.objects.bulk_create(
        AlertRule(kind=kind, builtin=True, **fields) for kind, fields in _missing_builtin_rules()
    )
