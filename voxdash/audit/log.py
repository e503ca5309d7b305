"""The one way into the audit log: `audit_record(action=..., request=..., target=...)`.

Call it where the action succeeded, inside the same transaction when there is one, so an action
that rolled back leaves no entry and one that happened always has one. It never raises for a bad
target or detail: the action itself matters more than its record, and a bug here must not turn a
placed call into an error page (it logs instead).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest

from voxdash.lib.addresses import client_address

from .models import AuditEntry

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Via = AuditEntry.Via


@dataclass(frozen=True)
class Target:
    """The object an action was on, when it is not a model instance (or should read otherwise)."""

    type: str
    id: str = ""
    label: str = ""
    url: str = ""


def target_of(obj: models.Model | Target | None) -> Target | None:
    """A model instance as a Target: its verbose name, pk, str() and get_absolute_url() if any."""
    if obj is None or isinstance(obj, Target):
        return obj
    url = obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else ""
    return Target(type=str(obj._meta.verbose_name), id=str(obj.pk or ""), label=str(obj), url=url)


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    user=None,
    username: str = "",
    target: models.Model | Target | None = None,
    detail: dict[str, Any] | None = None,
    via: str = "",
) -> AuditEntry | None:
    """Record one action. `user` defaults to the request's; without either it is voxdash itself
    (a worker). `username` overrides the name kept (a failed sign-in's attempted name)."""
    try:
        if user is None and request is not None:
            user = getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
        target = target_of(target)
        entry = AuditEntry(
            user=user,
            username=(username or (user.get_username() if user is not None else ""))[:150],
            # An API request says so itself (voxdash.api.auth sets `audit_via`); audit knows no app.
            via=via or getattr(request, "audit_via", "") or (Via.WEB if request is not None else Via.WORKER),
            remote_addr=client_address(request),
            request_id=getattr(request, "request_id", "")[:128] if request is not None else "",
            action=action,
            object_type=target.type[:64] if target else "",
            object_id=target.id[:64] if target else "",
            object_label=target.label[:200] if target else "",
            object_url=target.url[:500] if target else "",
            detail=detail or {},
        )
        # A savepoint: a failed insert must not break the caller's transaction with it.
        with transaction.atomic():
            entry.save(force_insert=True)
        return entry
    except Exception:  # the action happened; losing its record is logged loudly, not raised
        logger.exception("could not record audit entry %s", action)
        return None
