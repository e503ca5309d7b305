"""The rule form (/alerts/rules/<pk>/ and /alerts/rules/new/) and the history's filters.

What threshold and window mean depends on the rule's kind (checks.KINDS): a percentage is 1-100, a
count at least its kind's minimum, and a field the kind does not use is not on the form at all (the
rule keeps its value). Bad input comes back with what was typed and a message on the field.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator

from voxdash.lib.widgets import NumberInput
from voxdash.vox.budget import REFUSALS_KEPT_MINUTES

from . import selectors
from .checks import KINDS
from .models import AlertChannel, AlertRule

WINDOW_MAX = 7 * 24 * 60  # a week: longer windows read more history than the checks are meant to
COOLDOWN_MAX = 30 * 24 * 60


def whole_number(label: str, *, low: int, high: int) -> dict:
    what = "a whole percentage" if label == "%" else f"a whole number of {label}"
    message = f"Enter {what} from {low:,} to {high:,}."
    # The bounds' validators %-format their message with the limit; the "invalid" one is not formatted.
    bound = message.replace("%", "%%")
    return {"invalid": message, "min_value": bound, "max_value": bound, "required": f"Enter the {label}."}


class AlertRuleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="As notices and this page name it.")
    enabled = forms.BooleanField(label="On", required=False)
    threshold = forms.IntegerField(label="Threshold", widget=NumberInput)
    window_minutes = forms.IntegerField(
        label="Window (minutes)",
        widget=NumberInput,
        min_value=1,
        max_value=WINDOW_MAX,
        error_messages=whole_number("minutes", low=1, high=WINDOW_MAX),
    )
    cooldown_minutes = forms.IntegerField(
        label="Cooldown (minutes)",
        widget=NumberInput,
        min_value=0,
        max_value=COOLDOWN_MAX,
        error_messages=whole_number("minutes", low=0, high=COOLDOWN_MAX),
        help_text="While it keeps firing, no more than one notice per this many minutes (0: no reminders).",
    )
    channels = forms.ModelMultipleChoiceField(
        label="Also notify",
        queryset=AlertChannel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Channels for every rule receive this rule's alerts anyway (they are not listed); tick "
        "others to add them.",
    )

    def __init__(self, *args, kind: str, rule_pk: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.rule_pk = rule_pk
        self.meaning = selectors.kind_meaning(kind)
        every = settings.VOXDASH_ALERTS_EVERY
        self.fields["enabled"].help_text = f"While on, the worker evaluates it every {every:g} seconds."
        if KINDS[kind].event:
            # Told once per subject and never again: a cooldown would have nothing to hold back.
            del self.fields["cooldown_minutes"]
        channels = self.fields["channels"]
        channels.queryset = AlertChannel.objects.filter(every_rule=False).order_by("name")
        channels.label_from_instance = channel_label
        threshold = self.meaning.threshold
        if threshold is None:
            del self.fields["threshold"]
        else:
            field = self.fields["threshold"]
            field.label = threshold.label
            field.help_text = threshold.help
            field.validators += [MinValueValidator(threshold.low), MaxValueValidator(threshold.high)]
            field.error_messages.update(whole_number(threshold.unit, low=threshold.low, high=threshold.high))
            field.widget.attrs.update(min=threshold.low, max=threshold.high)
        if self.meaning.window is None:
            del self.fields["window_minutes"]
        else:
            window = self.fields["window_minutes"]
            window.help_text = self.meaning.window
            if kind == AlertRule.Kind.BUDGET_EXHAUSTED:
                # The budget keeps its refusal counts a day: a longer window could never fill up.
                window.validators.append(MaxValueValidator(REFUSALS_KEPT_MINUTES))
                window.error_messages.update(whole_number("minutes", low=1, high=REFUSALS_KEPT_MINUTES))
                window.widget.attrs.update(max=REFUSALS_KEPT_MINUTES)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        # Notices, the history's filter and the audit log name rules by name: two alike would read as one.
        if AlertRule.objects.filter(name__iexact=name).exclude(pk=self.rule_pk).exists():
            raise forms.ValidationError("Another rule has this name: give this one a name of its own.")
        return name

    def rule_fields(self) -> dict:
        """The rule's new values (those the form has: a field the kind does not use stays as it is)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "channels"}


def channel_label(channel: AlertChannel) -> str:
    notes = []
    if channel.every_rule:
        notes.append("every rule")
    if not channel.enabled:
        notes.append("off")
    return f"{channel.name} ({', '.join(notes)})" if notes else channel.name


def rule_initial(rule: AlertRule) -> dict:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "threshold": rule.threshold,
        "window_minutes": rule.window_minutes,
        "cooldown_minutes": rule.cooldown_minutes,
        "channels": list(rule.channels.all()) if rule.pk else [],
    }


class AlertHistoryFiltersForm(forms.Form):
    rule = forms.IntegerField(required=False, min_value=1)
    state = forms.ChoiceField(required=False, choices=selectors.STATE_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)


class NewRuleKindForm(forms.Form):
    """The kind of a new rule (/alerts/rules/new/?kind=...): chosen first, since it decides the fields."""

    kind = forms.ChoiceField(choices=AlertRule.Kind.choices)
