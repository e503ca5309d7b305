from django.contrib import admin

from voxdash.lib.read_only_admin import ReadOnlyAdmin

from .models import EventDelivery, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "active", "created_at"]
    readonly_fields = ["secret", "created_by", "created_at"]


@admin.register(EventDelivery)
class EventDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "subscription", "state", "attempts", "last_status", "next_attempt_at"]
    list_filter = ["state", "subscription"]
