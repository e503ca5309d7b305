from django.contrib import admin

from voxdash.lib.read_only_admin import ReadOnlyAdmin

from .models import WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    """Read-only: events are what Vox said; editing one would falsify the record."""

    list_display = [
        "event_id",
        "event_type",
        "call_vox_id",
        "created",
        "received_at",
        "deliveries",
        "outcome",
    ]
    list_filter = ["outcome", "event_type", "environment"]
    search_fields = ["event_id", "call_vox_id"]
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
