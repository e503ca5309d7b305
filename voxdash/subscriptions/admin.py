from django.contrib import admin

from voxdash.lib.read_only_admin import ReadOnlyAdmin

from .models import EventDelivery, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """Shown, not changed: /subscriptions/ checks the URL and the event types, makes and rotates
    the secret, and writes every change to the audit log; a second way past all that would not."""

    list_display = ["name", "url", "active", "created_at"]
    exclude = ["secret"]  # shown once a subscriber needs it, on its page


@admin.register(EventDelivery)
class EventDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "subscription", "state", "attempts", "last_status", "next_attempt_at"]
    list_filter = ["state", "subscription"]
