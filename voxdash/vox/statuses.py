"""The call status vocabulary, once: every status Vox is known to send, which ones end a call, which
ones mean the customer was not served, how each reads to people, and the status each webhook event
implies. Templates, forms, stats, the webhook processing and the mirror import it from here.

Vox may send a status missing from these lists: it is kept and shown as it came (`status_label`),
never refused, so nothing here is a validation rule.
"""

from __future__ import annotations

from functools import lru_cache

from django.utils.html import format_html
from django.utils.safestring import SafeString

# Every known status, in a call's life order: the filter panel lists them in this order.
QUEUED, RINGING, IN_PROGRESS = "queued", "ringing", "in_progress"
COMPLETED, FAILED, NO_ANSWER, BUSY, CANCELED = "completed", "failed", "no_answer", "busy", "canceled"

LIVE_STATUSES = (QUEUED, RINGING, IN_PROGRESS)
# The statuses that mean the customer was not served, in the order the stats list them.
FAILURE_STATUSES = (FAILED, NO_ANSWER, BUSY, CANCELED)
TERMINAL_STATUSES = frozenset({COMPLETED, *FAILURE_STATUSES})
KNOWN_STATUSES = frozenset({*LIVE_STATUSES, *TERMINAL_STATUSES})

STATUS_LABELS = {
    QUEUED: "Queued",
    RINGING: "Ringing",
    IN_PROGRESS: "In progress",
    COMPLETED: "Completed",
    FAILED: "Failed",
    NO_ANSWER: "No answer",
    BUSY: "Busy",
    CANCELED: "Canceled",
}

# Webhook event types about a call, and the status each implies when its data carries none.
CALL_STARTED, CALL_COMPLETED, CALL_FAILED = "vox.call.started", "vox.call.completed", "vox.call.failed"
RECORDING_READY = "vox.recording.ready"
AGENT_UPDATED = "vox.agent.updated"
EVENT_STATUS = {
    CALL_STARTED: IN_PROGRESS,
    CALL_COMPLETED: COMPLETED,
    CALL_FAILED: FAILED,
    RECORDING_READY: COMPLETED,  # a recording only exists for a call that was answered
}


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


def status_label(status: str) -> str:
    # An unknown status is shown as it comes, never hidden or crashed on.
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize() if status else "—")


# Statuses of numbers and agents share the badge colours of call outcomes.
OTHER_STATUS_CSS = {"active": "ok", "inactive": "canceled", "disabled": "canceled", "suspended": "failed"}


# A list shows a handful of statuses on up to 100 rows: each one's badge is made once a process.
# Bounded, since Vox may send statuses this version does not know.
@lru_cache(maxsize=64)
def status_badge(status: str) -> SafeString:
    """The status as a coloured badge (the template filter of the same name, and the rows that
    lists write in Python)."""
    css = status if status in STATUS_LABELS else OTHER_STATUS_CSS.get(status, "unknown")
    return format_html('<span class="badge badge-{}">{}</span>', css, status_label(status))
