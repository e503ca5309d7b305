"""Changes made in the Django admin, recorded in the audit log: mix `RecordedAdmin` into a ModelAdmin.

The admin tells its own history (LogEntry) through `log_addition` and `log_change`, inside the
transaction of the form that saved; the audit entry is written beside it, with the admin's change
message in words ("Changed Groups and Staff status."), never a field's value. Deletions are
recorded in `delete_model` and `delete_queryset` (the delete page and the bulk "Delete selected"
action), in one transaction with the delete itself: an entry says deleted only if it was.
"""

from __future__ import annotations

import json

from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from .log import Target, audit_record


def change_message_words(message) -> str:
    """The admin's change message (its JSON list, or a plain string) as the admin's history says it."""
    if isinstance(message, list):
        message = json.dumps(message)
    return LogEntry(change_message=message or "").get_change_message() or "No fields changed."


class RecordedAdmin:
    """`audit_actions`: the (added, changed, deleted) actions of this model's admin."""

    audit_actions: tuple[str, str, str]

    def audit_target(self, obj, *, link: bool = True) -> Target:
        opts = obj._meta
        url = ""
        if link:
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            except NoReverseMatch:
                url = ""
        return Target(type=str(opts.verbose_name), id=str(obj.pk), label=str(obj), url=url)

    def audit_detail(self, obj) -> dict:
        """What else to keep about `obj` after an addition or a change (subclasses add to it)."""
        return {}

    def log_addition(self, request, obj, message):
        logged = super().log_addition(request, obj, message)
        audit_record(
            action=self.audit_actions[0],
            request=request,
            target=self.audit_target(obj),
            detail=self.audit_detail(obj),
        )
        return logged

    def log_change(self, request, obj, message):
        logged = super().log_change(request, obj, message)
        detail = {"message": change_message_words(message), **self.audit_detail(obj)}
        audit_record(
            action=self.audit_actions[1], request=request, target=self.audit_target(obj), detail=detail
        )
        return logged

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._record_deletion(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:  # one entry per object, as the admin's own history has
                self._record_deletion(request, obj)
            super().delete_queryset(request, queryset)

    def _record_deletion(self, request, obj) -> None:
        # No link: the object's page is gone with it; its label and id stay.
        audit_record(action=self.audit_actions[2], request=request, target=self.audit_target(obj, link=False))
