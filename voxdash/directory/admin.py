from django.contrib import admin

from .models import Agent, VoiceNumber


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
