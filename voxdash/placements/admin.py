from django.contrib import admin

from voxdash.lib.read_only_admin import ReadOnlyAdmin

from .models import PlacedCall


@admin.register(PlacedCall)
class PlacedCallAdmin(ReadOnlyAdmin):
    """An audit trail: readable by staff, changed by nobody."""

    list_display = (
        "attempted_at",
        "username",
        "customer_phone",
        "purpose",
        "outcome",
        "answered_locally",
        "vox_placement_id",
    )
    list_filter = ("outcome", "answered_locally", "attempted_at")
    search_fields = ("customer_phone", "username", "vox_placement_id", "listed_call_id", "idempotency_key")
    date_hierarchy = "attempted_at"
