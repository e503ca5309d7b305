"""A press of Start, Pause, Resume or Cancel, from the campaign's page or the API.

The action itself is `running.campaign_act` (once, under the campaign's row lock); a start or a
resume that happened also asks the workers for a dispatch run, so the first calls go out now, not
at beat's next tick. Its own module so that the direction stays one way: views and the API →
actions → queue → tasks → running.
"""

from __future__ import annotations

from . import running
from .queue import campaigns_dispatch_request

DISPATCHING = (running.START, running.RESUME)


def campaign_press(*, campaign_id: int, action: str, user, request=None) -> running.ActionResult:
    result = running.campaign_act(campaign_id=campaign_id, action=action, user=user, request=request)
    if result.done and action in DISPATCHING:
        campaigns_dispatch_request()
    return result
