"""Rules and channels are edited here too (channels only here: their URLs carry secrets); alerts and
deliveries are the record of what happened, read-only. Every change is audited as on /alerts/
(`services`), with via "admin"."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from voxdash.audit.log import Via
from voxdash.lib.read_only_admin import ReadOnlyAdmin

from . import channels, environment, notify, selectors, services
from .models import Alert, AlertChannel, AlertDelivery, AlertRule

EVALUATION_FIELDS = ("condition_since", "last_evaluated_at", "last_error", "created_at", "updated_at")


class AlertRuleAdminForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ("kind", "name", "enabled", "threshold", "window_minutes", "cooldown_minutes", "channels")

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or self.instance.kind
        if kind not in AlertRule.Kind.values:
            return data
        # The same bounds as the rule page's form (what threshold and window mean for this kind).
        meaning = selectors.kind_meaning(kind)
        threshold = data.get("threshold")
        if meaning.threshold and threshold is not None:
            low, high = meaning.threshold.low, meaning.threshold.high
            if not low <= threshold <= high:
                self.add_error(
                    "threshold",
                    f"For this kind, a whole number of {meaning.threshold.unit} from {low} to {high}.",
                )
        if (
            meaning.window is not None
            and data.get("window_minutes") is not None
            and data["window_minutes"] < 1
        ):
            self.add_error("window_minutes", "At least 1 minute for this kind.")
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleAdminForm
    list_display = (
        "name",
        "kind",
        "enabled",
        "threshold",
        "window_minutes",
        "cooldown_minutes",
        "builtin",
        "last_evaluated_at",
    )
    list_filter = ("enabled", "builtin", "kind")
    search_fields = ("name",)
    filter_horizontal = ("channels",)
    actions = ["restore_builtin_rules"]

    def get_readonly_fields(self, request, obj=None):
        # The kind is what the rule is: a different kind is a different rule (add one instead).
        return ("kind", "builtin", *EVALUATION_FIELDS) if obj else ("builtin", *EVALUATION_FIELDS)

    def has_delete_permission(self, request, obj=None):
        # voxdash's own rules are turned off, never deleted.
        return super().has_delete_permission(request, obj) and not (obj and obj.builtin)

    def save_model(self, request, obj, form, change):
        # The rule as it was, for the audit entry written once its channels are saved too.
        stored = AlertRule.objects.filter(pk=obj.pk).first() if change else None
        request._alert_rule_before = services.rule_snapshot(stored) if stored else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.alert_rule_audit(
            rule=form.instance,
            before=getattr(request, "_alert_rule_before", {}),
            created=not change,
            request=request,
            via=Via.ADMIN,
        )

    def delete_model(self, request, obj):
        services.alert_rule_delete(rule=obj, request=request, via=Via.ADMIN)

    def delete_queryset(self, request, queryset):
        # One audit entry per rule. A selection holding a built-in rule never gets here: the
        # admin asks has_delete_permission of each selected object first.
        for rule in queryset:
            services.alert_rule_delete(rule=rule, request=request, via=Via.ADMIN)

    @admin.action(description="Restore voxdash's own rules that are missing")
    def restore_builtin_rules(self, request, queryset):
        made = services.alert_rules_restore(request=request, via=Via.ADMIN)
        if made:
            messages.success(request, "Restored: " + ", ".join(rule.name for rule in made) + ".")
        else:
            messages.info(request, "Every one of voxdash's own rules is there; nothing to restore.")


class SecretURLInput(forms.PasswordInput):
    """Never sends the stored URL (its token or password) back to the browser."""

    def __init__(self):
        super().__init__(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false", "size": 80})


class AlertChannelAdminForm(forms.ModelForm):
    url = forms.CharField(
        label="URL",
        required=False,
        widget=SecretURLInput(),
        help_text=(
            "An apprise URL (mailto://user:password@host, slack://…, msteams://…, json://…), an http(s):// URL "
            "for voxdash's signed JSON, or file:///path. Not shown again once saved: leave it blank to keep the stored one."
        ),
    )

    class Meta:
        model = AlertChannel
        fields = ("name", "kind", "url", "every_rule", "enabled")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if not url and self.instance.pk and self.instance.url:
            return self.instance.url  # left blank: keep the stored URL
        if not url:
            raise forms.ValidationError("Enter the channel's URL.")
        return url

    def clean(self):
        data = super().clean()
        kind, url = data.get("kind"), data.get("url")
        if kind and url:
            problem = channels.url_problem(kind, url)  # never repeats the URL (it may hold secrets)
            if problem:
                # A stored URL that no longer fits: the kind was changed, so the kind is wrong.
                field = "url" if url != self.instance.url else "kind"
                self.add_error(field, f"This URL cannot be used for this kind: {problem}.")
        return data


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelAdminForm
    list_display = (
        "name",
        "kind",
        "shown_url",
        "from_environment",
        "every_rule",
        "enabled",
        "last_delivered_at",
        "failing",
    )
    list_filter = ("kind", "enabled", "every_rule", "from_environment")
    search_fields = ("name",)
    STATE_FIELDS = (
        "shown_url",
        "shown_signing_secret",
        "from_environment",
        "last_delivered_at",
        "last_failed_at",
        "last_error",
    )

    @admin.display(description="URL")
    def shown_url(self, obj: AlertChannel) -> str:
        return notify.masked_url(obj) if obj.pk else ""

    @admin.display(description="Signing secret")
    def shown_signing_secret(self, obj: AlertChannel) -> str:
        """What signs its webhook deliveries (Cloove-Signature), for the receiver to verify. The
        environment's own secret stays in the environment: only its name is shown."""
        if obj.from_environment and environment.signing_secret(obj) != obj.signing_secret:
            return "VOXDASH_ALERT_WEBHOOK_SECRET (set in the environment)"
        return obj.signing_secret

    @admin.display(boolean=True)
    def failing(self, obj: AlertChannel) -> bool:
        return obj.failing

    def get_fields(self, request, obj=None):
        if obj and obj.from_environment:
            return ("name", "kind", "every_rule", "enabled", *self.STATE_FIELDS)
        return ("name", "kind", "url", "every_rule", "enabled", *(self.STATE_FIELDS if obj else ()))

    def get_readonly_fields(self, request, obj=None):
        # Rows made from VOXDASH_ALERT_URLS follow the setting (each run makes them match it again).
        if obj and obj.from_environment:
            return ("name", "kind", "every_rule", "enabled", *self.STATE_FIELDS)
        return self.STATE_FIELDS

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.from_environment)

    def save_model(self, request, obj, form, change):
        stored = AlertChannel.objects.filter(pk=obj.pk).first() if change else None
        before = services.channel_snapshot(stored) if stored else {}
        super().save_model(request, obj, form, change)
        services.alert_channel_audit(
            channel=obj, before=before, created=not change, request=request, via=Via.ADMIN
        )

    def delete_model(self, request, obj):
        services.alert_channel_delete(channel=obj, request=request, via=Via.ADMIN)

    def delete_queryset(self, request, queryset):
        # As for rules: a selection holding a channel from the environment is refused before this.
        for channel in queryset:
            services.alert_channel_delete(channel=channel, request=request, via=Via.ADMIN)


# Alerts and deliveries are read-only: what the evaluation and the senders recorded; changing it
# would falsify the history.
class AlertDeliveryInline(admin.TabularInline):
    model = AlertDelivery
    fields = ("notice", "channel_name", "state", "attempts", "created_at", "delivered_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("rule", "subject_label", "opened_at", "resolved_at", "notices", "last_notified_at")
    list_filter = ("rule", "opened_at")
    search_fields = ("rule__name", "subject_label", "summary")
    list_select_related = ("rule",)
    date_hierarchy = "opened_at"
    inlines = [AlertDeliveryInline]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "notice", "channel_name", "state", "attempts", "delivered_at", "title")
    list_filter = ("state", "notice", "channel_name")
    search_fields = ("title", "channel_name", "last_error")
    date_hierarchy = "created_at"
    exclude = ("sending_since",)
