"""Campaigns ready to dispatch against the simulator, and the simulator's webhooks fed to the mirror
the way the receiver and the worker apply them ("dispatch" helper's tests).

Outcomes are chosen by the phone's last digit (the simulator's rule: 7 busy, 8 failed, 9 no
answer, else completed) or by `Simulator.plan_outcomes`.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, time

from vox_simulator import Simulator
from voxdash.campaigns.models import Campaign, CampaignEvent, CampaignRow
from voxdash.placements.models import PlacedCall
from voxdash.webhooks.services import webhook_event_process, webhook_event_receive

RowState = CampaignRow.State
DIGIT = {"completed": "1", "busy": "7", "failed": "8", "no_answer": "9"}
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
# A fixed Tuesday noon (UTC): every window test's clock, so nothing depends on when tests run.
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def phone(index: int, outcome: str = "completed") -> str:
    """A Nigerian mobile number, distinct per index, whose simulated call ends in `outcome`."""
    return f"+23480{index:07d}{DIGIT[outcome]}"


def simulator_ids(sim: Simulator) -> tuple[str, str]:
    """(an active voice number, the default agent) the simulator accepts."""
    number = next(n for n in sim.store.list_numbers() if n["status"] == "active" and n["voiceCapable"])
    agent = next(a for a in sim.store.list_agents() if a["isDefault"])
    return number["id"], agent["id"]


def campaign_ready(
    sim: Simulator,
    *,
    phones: list[str],
    user=None,
    state: str = Campaign.State.RUNNING,
    row_state: str = RowState.PENDING,
    **fields,
) -> Campaign:
    """A campaign over `phones` (rows 2, 3, …: the header is row 1), running all day every day
    unless `fields` say otherwise, with one STARTED event if it is not a draft."""
    number_id, agent_id = simulator_ids(sim)
    values = {
        "name": "December reminders",
        "business_voice_number_id": number_id,
        "ai_agent_id": agent_id,
        "purpose": "payment_reminder",
        "context_template": "Remind {customer_name} about invoice {invoice}",
        "window_start": time(0, 0),
        "window_end": time(0, 0),  # not after the start: runs past midnight, a full day
        "window_days": EVERY_DAY,
        "time_zone": "Africa/Lagos",
        "max_in_flight": 5,
        "columns": ["customer_phone", "customer_name", "invoice"],
        "rows_read": len(phones),
        **fields,
    }
    if state != Campaign.State.DRAFT:
        values.setdefault("started_at", datetime(2026, 1, 1, tzinfo=UTC))
    campaign = Campaign.objects.create(
        state=state, created_by=user, created_by_name=user.get_username() if user else "cal", **values
    )
    if state != Campaign.State.DRAFT:
        event = CampaignEvent.objects.create(campaign=campaign, action=CampaignEvent.Action.STARTED)
        CampaignEvent.objects.filter(pk=event.pk).update(at=values["started_at"])
    CampaignRow.objects.bulk_create(
        CampaignRow(
            campaign=campaign,
            number=index + 2,
            customer_phone=number,
            customer_name=f"Customer {index}",
            cells={"customer_phone": number, "customer_name": f"Customer {index}", "invoice": f"INV-{index}"},
            context=f"Remind Customer {index} about invoice INV-{index}",
            state=row_state,
        )
        for index, number in enumerate(phones)
    )
    return campaign


def states(campaign: Campaign) -> Counter:
    return Counter(CampaignRow.objects.filter(campaign=campaign).values_list("state", flat=True))


def row(campaign: Campaign, index: int) -> CampaignRow:
    """The row made from phones[index]."""
    return CampaignRow.objects.get(campaign=campaign, number=index + 2)


def dials_per_key(sim: Simulator) -> Counter:
    return Counter(sim.stats()["dialed_by_key"])


def campaign_keys(campaign: Campaign) -> set[str]:
    """Every idempotency key this campaign's attempts were sent with."""
    return {
        str(k)
        for k in PlacedCall.objects.filter(origin_ref__startswith=f"{campaign.pk}:").values_list(
            "idempotency_key", flat=True
        )
    }


class Webhooks:
    """The simulator's events applied to the mirror as the receiver and the worker would (stored,
    then processed), each once unless asked again; `finish` runs calls to their end first."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.applied: set[str] = set()

    def deliver(self, event: dict) -> None:
        stored, _ = webhook_event_receive(body=json.dumps(event).encode(), header_id=event["id"])
        webhook_event_process(event_pk=stored.pk)
        self.applied.add(event["id"])

    def new(self) -> list[dict]:
        return [e for e in self.sim.events() if e["id"] not in self.applied]

    def finish(self) -> int:
        """Every live call to its end, and every event not applied yet applied; how many."""
        for _ in range(4):
            self.sim.advance()
        fresh = self.new()
        for event in fresh:
            self.deliver(event)
        return len(fresh)
