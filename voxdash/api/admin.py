"""Tokens in the admin: listed, made (shown once on the page that answers the add) and revoked.

The admin's own change form would let someone edit a hash or a service account; only the fields a
person decides (name, scopes, limit, expiry) are editable, and only when making one.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from .forms import TokenForm
from .models import ServiceToken
from .scopes import CHOICES
from .tokens import token_create, token_revoke


class ServiceTokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=CHOICES, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ServiceToken
        fields = ["name", "scopes", "rate_per_minute", "expires_at"]

    # The tokens page's rules for a name (trimmed, unique whatever its case) and a rate (1 to
    # 6,000 a minute: 0 would refuse every request), not the columns'.
    clean_name = TokenForm.clean_name
    rate_per_minute = TokenForm.base_fields["rate_per_minute"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("That time has passed: the token would never work.")
        return expires_at


@admin.register(ServiceToken)
class ServiceTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = [
        "name", "prefix", "scopes", "rate_per_minute", "expires_at", "user", "created_by",
        "created_at", "last_used_at", "revoked_at", "revoked_by",
    ]  # fmt: skip

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ServiceTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the audit log and placed calls keep pointing at it

    def save_model(self, request, obj, form, change):
        if change:
            return
        made = token_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            rate_per_minute=form.cleaned_data["rate_per_minute"],
            expires_at=form.cleaned_data["expires_at"],
            created_by=request.user,
            request=request,
        )
        obj.pk = made.token.pk
        request._made_token = made  # for response_add: the one page that shows it

    def response_add(self, request, obj, post_url_continue=None):
        made = request._made_token
        response = TemplateResponse(
            request,
            "api/admin_token_made.html",
            {**self.admin_site.each_context(request), "made": made, "opts": self.opts, "title": "Token made"},
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = sum(token_revoke(token=t, revoked_by=request.user, request=request) for t in queryset)
        messages.success(request, f"{revoked} token(s) revoked.")
