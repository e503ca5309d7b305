"""Campaigns in a given state, made straight in the database, for the page tests ("watch").

The pages only read what the dispatcher and the draft maker write; these helpers write the same
rows so each test can show the page one exact situation.
"""

from __future__ import annotations

from datetime import time

from django.utils import timezone

from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow, attempt_key
from voxdash.placements.models import PlacedCall, payload_fingerprint

State = CampaignRow.State
HTMX = {"HX-Request": "true"}
# Every day, all day (a window whose end is not after its start runs past midnight: 00:00-00:00
# is a full 24 hours), so a running campaign's ETA never depends on when the test runs.
ALWAYS = {"window_start": time(0, 0), "window_end": time(0, 0), "window_days": "mon,tue,wed,thu,fri,sat,sun"}


def make_campaign(
    *, user=None, name: str = "December reminders", state: str = Campaign.State.RUNNING, rows=(), **fields
) -> Campaign:
    """A campaign with `rows`: (phone, name, state) or (phone, name, state, extra fields dict)."""
    values = {
        "business_voice_number_id": "num_x",
        "ai_agent_id": "agt_x",
        "purpose": "payment_reminder",
        "context_template": "Remind {customer_name} about invoice {invoice}",
        "time_zone": "Africa/Lagos",
        "file_name": "december.csv",
        "columns": ["customer_phone", "customer_name", "invoice"],
        **ALWAYS,
        **fields,
    }
    if state != Campaign.State.DRAFT:
        values.setdefault("started_at", timezone.now() - timezone.timedelta(minutes=30))
    if state in (Campaign.State.FINISHED, Campaign.State.CANCELLED):
        values.setdefault("finished_at", timezone.now())
    campaign = Campaign.objects.create(
        name=name,
        state=state,
        created_by=user,
        created_by_name=user.get_username() if user else "cal",
        rows_read=len(rows),
        **values,
    )
    CampaignRow.objects.bulk_create(
        [
            CampaignRow(
                campaign=campaign,
                number=n,
                customer_phone=row[0],
                customer_name=row[1],
                state=row[2],
                cells={"customer_phone": row[0], "customer_name": row[1], "invoice": f"INV-{n}"},
                context=f"Remind {row[1]} about invoice INV-{n}",
                **(row[3] if len(row) > 3 else {}),
            )
            for n, row in enumerate(rows, start=2)  # the header is row 1
        ]
    )
    CampaignEvent.objects.create(
        campaign=campaign, action=CampaignEvent.Action.CREATED, user=user, username=campaign.created_by_name
    )
    return campaign


def phone(n: int, last: int = 0) -> str:
    """A valid Nigerian mobile number, distinct per n, ending in `last` (the simulator's outcome digit)."""
    return f"+234803{n:06d}{last}"


def placed_attempt(campaign: Campaign, row_number: int, attempt: int, **fields) -> PlacedCall:
    """The PlacedCall the dispatcher records for one attempt at one row."""
    row = campaign.rows.get(number=row_number)
    payload = {
        "customer_phone": row.customer_phone,
        "customer_name": row.customer_name,
        "purpose": campaign.purpose,
        "context": row.context,
        "business_voice_number_id": campaign.business_voice_number_id,
        "ai_agent_id": campaign.ai_agent_id,
    }
    values = {
        "username": campaign.created_by_name,
        "payload": payload,
        "payload_fingerprint": payload_fingerprint(payload),
        "customer_phone": row.customer_phone,
        "outcome": PlacedCall.Outcome.QUEUED,
        "origin": PlacedCall.Origin.CAMPAIGN,
        "origin_ref": f"{campaign.pk}:{row_number}:{attempt}",
        "idempotency_key": attempt_key(campaign, row_number, attempt),
        **fields,
    }
    return PlacedCall.objects.create(**values)
