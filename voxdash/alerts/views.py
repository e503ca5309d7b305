"""/alerts/: open alerts, the rules, the channels and the history; editing rules; testing a channel.

Staff only: rules decide who is woken at night, and channels carry tokens. Rules and channels are
evaluated and sent by beat, never by these views; every change made here goes through
`services` (audited in the change's transaction), then a redirect (post/redirect/get).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from voxdash.audit.log import Action, audit_record
from voxdash.lib.htmx import page_or_partial
from voxdash.lib.staff import staff_only

from . import notify, selectors, services
from .forms import AlertHistoryFiltersForm, AlertRuleForm, NewRuleKindForm, rule_initial
from .models import AlertChannel, AlertDelivery, AlertRule

INDEX = "alerts/index.html"


@require_safe
@staff_only
def alert_index(request):
    """The whole page, or (htmx: a filter link or the pager) only the history."""
    filters = AlertHistoryFiltersForm(request.GET)
    filters.is_valid()
    data = getattr(filters, "cleaned_data", {})
    template = page_or_partial(request, INDEX, "history")
    whole = template == INDEX
    rule_rows, channel_rows = selectors.alert_rules_and_channels() if whole else ([], [])
    # The history's rule filter names every rule: the page has them already, the partial asks.
    rules = [row.rule for row in rule_rows] if whole else list(AlertRule.objects.only("pk", "name"))
    context = {
        "filters": filters,
        "history": selectors.alert_history(
            rules=rules,
            rule_id=data.get("rule"),
            state=data.get("state") or "",
            page_number=data.get("page"),
            query=request.GET,
        ),
    }
    if whole:
        open_alerts = selectors.alerts_open(rules=rules)
        context |= {
            "evaluated_every": f"{settings.VOXDASH_ALERTS_EVERY:g}",
            "open_alerts": open_alerts,
            # The menu's count (context_processors.open_alerts) is this page's list: no COUNT of its own.
            "open_alert_count": len(open_alerts),
            "rules": rule_rows,
            "channels": channel_rows,
        }
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@staff_only
def alert_rule(request, pk: int):
    rule = get_object_or_404(AlertRule, pk=pk)
    form = AlertRuleForm(request.POST or None, kind=rule.kind, rule_pk=rule.pk, initial=rule_initial(rule))
    if request.method == "POST" and form.is_valid():
        changed = services.alert_rule_save(
            rule=rule,
            fields=form.rule_fields(),
            channels=list(form.cleaned_data["channels"]),
            request=request,
        )
        if changed:
            messages.success(
                request, f"Saved “{rule.name}”: {', '.join(changed_labels(form, changed))} changed."
            )
        else:
            messages.info(request, f"Nothing changed in “{rule.name}”.")
        return redirect(reverse("alerts:index") + "#rules")
    context = {
        "rule": rule,
        "form": form,
        "meaning": form.meaning,
        "condition": selectors.condition_text(rule),
    }
    return render(request, "alerts/rule.html", context)


@require_http_methods(["GET", "POST"])
@staff_only
def alert_rule_new(request):
    """A second rule of a kind (a stricter failure rate for one channel): the kind is chosen first
    (?kind=...), since it decides what the fields mean; the form starts from the built-in's values."""
    chosen = NewRuleKindForm(request.GET if "kind" in request.GET else None)
    if not chosen.is_valid():
        kinds = [
            (value, label, selectors.kind_meaning(value).description)
            for value, label in AlertRule.Kind.choices
        ]
        return render(request, "alerts/rule_kind.html", {"chosen": chosen, "kinds": kinds})
    kind = chosen.cleaned_data["kind"]
    template = AlertRule.objects.filter(kind=kind, builtin=True).first() or AlertRule(kind=kind)
    # What the form does not ask for this kind (an unused threshold or window) is the built-in's.
    rule = AlertRule(kind=kind, threshold=template.threshold, window_minutes=template.window_minutes)
    initial = {
        **rule_initial(template),
        "name": selectors.free_rule_name(template.name or AlertRule.Kind(kind).label),
        "channels": [],
    }
    form = AlertRuleForm(request.POST or None, kind=kind, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.alert_rule_save(
            rule=rule,
            fields=form.rule_fields(),
            channels=list(form.cleaned_data["channels"]),
            request=request,
        )
        messages.success(request, f"Added the rule “{rule.name}”.")
        return redirect(reverse("alerts:index") + "#rules")
    return render(request, "alerts/rule.html", {"rule": rule, "form": form, "meaning": form.meaning})


@require_http_methods(["GET", "POST"])
@staff_only
def alert_rule_delete(request, pk: int):
    """GET: the confirmation page; POST: delete. Built-in rules are turned off instead."""
    rule = get_object_or_404(AlertRule, pk=pk)
    if rule.builtin:
        messages.error(
            request, f"“{rule.name}” is one of voxdash's own rules: turn it off instead of deleting it."
        )
        return redirect("alerts:rule", pk=rule.pk)
    if request.method == "GET":
        return render(request, "alerts/rule_delete.html", {"rule": rule, "alerts": rule.alerts.count()})
    name = rule.name
    services.alert_rule_delete(rule=rule, request=request)
    messages.success(request, f"Deleted the rule “{name}” and its history.")
    return redirect(reverse("alerts:index") + "#rules")


@require_POST
@staff_only
def alert_channel_test(request, pk: int):
    """Send a test notice to one channel now, and say whether it arrived."""
    # An off channel may be tested too: that is how one checks it before turning it on.
    channel = get_object_or_404(AlertChannel, pk=pk)
    delivery = notify.channel_test(channel=channel, user=request.user)
    delivered = delivery.state == AlertDelivery.State.DELIVERED
    detail = (
        {"state": delivery.state, "error": delivery.last_error}
        if not delivered
        else {"state": delivery.state}
    )
    audit_record(action=Action.ALERT_CHANNEL_TESTED, request=request, target=channel, detail=detail)
    if delivered:
        messages.success(request, f"Test notice delivered to “{channel.name}”.")
    else:
        reason = delivery.last_error or delivery.get_state_display()
        messages.error(request, f"The test notice to “{channel.name}” was not delivered: {reason}")
    return redirect(reverse("alerts:index") + "#channels")


def changed_labels(form: AlertRuleForm, changed: dict) -> list[str]:
    """The form's labels of the changed fields, lower case, in the form's order."""
    labels = {name: str(field.label).lower() for name, field in form.fields.items()}
    return [labels.get(name, name) for name in form.fields if name in changed]
