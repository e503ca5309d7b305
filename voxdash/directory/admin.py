from django.contrib import admin

from voxdash.lib.read_only_admin import ReadOnlyAdmin

from .models import Agent, DoNotCallChange, DoNotCallEntry, VoiceNumber


@admin.register(VoiceNumber)
class VoiceNumberAdmin(admin.ModelAdmin):
    list_display = ("phone_number", "country", "status", "voice_capable", "provider", "vanished_at")
    list_filter = ("status", "country", "voice_capable")
    search_fields = ("phone_number", "=vox_id")


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "status", "is_default", "vanished_at")
    list_filter = ("status", "language")
    search_fields = ("name", "=vox_id")


# Read-only: changes to the do-not-call list go through /dnc/, which records who made each one;
# the admin only shows the list and its history.
@admin.register(DoNotCallEntry)
class DoNotCallEntryAdmin(ReadOnlyAdmin):
    list_display = ("phone", "reason", "added_by_name", "added_at")
    search_fields = ("phone", "reason", "added_by_name")
    date_hierarchy = "added_at"


@admin.register(DoNotCallChange)
class DoNotCallChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "phone", "action", "username", "reason")
    list_filter = ("action", "at")
    search_fields = ("phone", "username", "reason")
    date_hierarchy = "at"
