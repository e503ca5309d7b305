"""The audit log's one write besides recording: pruning entries past their retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import AuditEntry

logger = logging.getLogger(__name__)

# Rows deleted per statement. Each batch commits on its own, so a table of millions is pruned in
# many short deletes that other writers (every action records here) slip between, not one long
# lock; and a prune stopped half-way has done half the work.
PRUNE_BATCH = 5000


def audit_prune(*, now: datetime | None = None) -> int:
    """Delete the entries older than VOXDASH_AUDIT_RETENTION_DAYS (0: keep them all); how many."""
    days = settings.VOXDASH_AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = AuditEntry.objects.filter(at__lt=cutoff)
    deleted = 0
    while True:
        # Oldest first, by primary key: the index on `at` finds them, the delete is by pk.
        batch = list(old.order_by("at", "id").values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            break
        # A queryset delete, not AuditEntry.delete() (which refuses): retention is the one way out.
        count, _ = AuditEntry.objects.filter(pk__in=batch).delete()
        deleted += count
    if deleted:
        logger.info("audit log: pruned %s entries older than %s days", deleted, days)
    return deleted
