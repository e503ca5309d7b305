"""Campaigns as a busy team has them, written straight into the tables (what the dispatcher and the
draft maker would have written): one running campaign of 100,000 rows, three quarters done, and
~50 smaller ones in every state, each attempt with its PlacedCall record.

Shared by benchmarks/campaign_pages.py (as deployed, and its in-process profile)."""

import random
from datetime import time, timedelta

# The big campaign's rows by state, in per mille (the rest are completed), as a run three quarters
# through its file looks: most rows done, a tail still pending (never dialled: the end of the file),
# a few retries waiting, a handful dialling or in flight, the skipped rows of the file.
SHARES = {
    "no_answer": 140,
    "busy": 30,
    "failed": 20,
    "unknown": 5,
    "invalid": 15,
    "duplicate": 8,
    "do_not_call": 20,
}
RETRYING_PER_MILLE = 30  # pending again after no answer or busy, waiting for retry_after
TAIL_PENDING_PER_MILLE = 90  # the end of the file, not dialled yet
IN_FLIGHT, DIALING = 5, 3  # max_in_flight 8
RECENT_ATTEMPTS_PER_MINUTE = 30  # what the dial rate measures over its 10 minutes
BATCH = 5000
BIG_NAME = "December invoices"
REASONS = {
    "invalid": "not a valid phone number",
    "duplicate": "same number as an earlier row",
    "do_not_call": "on the do-not-call list",
}


def _campaign(name: str, state: str, created_at, user, **fields):
    from voxdash.campaigns.models import Campaign

    values = {
        "business_voice_number_id": "num_bench",
        "ai_agent_id": "agt_bench",
        "purpose": "payment_reminder",
        "context_template": "Remind {customer_name} about invoice {invoice}",
        "time_zone": "Africa/Lagos",
        "file_name": f"{name.lower().replace(' ', '-')}.csv",
        "columns": ["customer_phone", "customer_name", "invoice"],
        # Every day, all day: the ETA is always "about … at this rate".
        "window_start": time(0, 0),
        "window_end": time(0, 0),
        "window_days": "mon,tue,wed,thu,fri,sat,sun",
        "max_attempts": 3,
        "retry_after_minutes": 60,
        "max_in_flight": IN_FLIGHT + DIALING,
        **fields,
    }
    if state != Campaign.State.DRAFT:
        values.setdefault("started_at", created_at + timedelta(minutes=5))
    if state in (Campaign.State.FINISHED, Campaign.State.CANCELLED):
        values.setdefault("finished_at", created_at + timedelta(hours=6))
    campaign = Campaign.objects.create(
        name=name, state=state, created_by=user, created_by_name=user.username, **values
    )
    Campaign.objects.filter(pk=campaign.pk).update(created_at=created_at)
    campaign.refresh_from_db()
    return campaign


SKIPPED = ("invalid", "duplicate", "do_not_call")


def _states(rng: random.Random, count: int, campaign_state: str) -> list[str]:
    """Each row's state in file order: settled rows shuffled, then the rows not dialled yet (the
    tail of a running campaign, cancelled in a cancelled one); a draft's rows are all to dial."""
    if campaign_state == "draft":
        states = [s for s in SHARES if s in SKIPPED for _ in range(count * SHARES[s] // 1000)]
        states += ["pending"] * (count - len(states))
        rng.shuffle(states)
        return states
    states = []
    for state, per_mille in SHARES.items():
        states += [state] * (count * per_mille // 1000)
    tail: list[str] = []
    if campaign_state == "running":
        states += ["pending"] * (count * RETRYING_PER_MILLE // 1000)
        states += ["in_flight"] * IN_FLIGHT + ["dialing"] * DIALING
        tail = ["pending"] * (count * TAIL_PENDING_PER_MILLE // 1000)
    elif campaign_state == "cancelled":
        tail = ["cancelled"] * (count * TAIL_PENDING_PER_MILLE // 1000)
    states += ["completed"] * (count - len(states) - len(tail))
    rng.shuffle(states)
    return states + tail


ATTEMPTED = {"completed", "no_answer", "busy", "failed", "unknown", "in_flight", "dialing"}


def _attempts(rng: random.Random, state: str, retry: bool) -> int:
    if state in ("in_flight", "dialing"):
        return 1
    if state in ATTEMPTED:
        return rng.choice((1, 1, 1, 2, 3))
    return rng.choice((1, 2)) if retry else 0  # a pending retry, or not dialled yet


def _fill(campaign, rng: random.Random, count: int, now) -> None:
    """`count` rows and, for each attempt they made, the PlacedCall the dispatcher records."""
    from voxdash.campaigns.models import CampaignRow, attempt_key
    from voxdash.placements.models import PlacedCall

    states = _states(rng, count, campaign.state)
    running = campaign.state == "running"
    tail = count * TAIL_PENDING_PER_MILLE // 1000 if running else 0
    attempts = [_attempts(rng, s, retry=running and i < count - tail) for i, s in enumerate(states)]
    total = sum(attempts)
    # Attempts spread from the start to now (or to when it finished), in file order; the last
    # `recent` of a running campaign two seconds apart: what the dial rate's 10 minutes see.
    end = campaign.finished_at or now
    recent = RECENT_ATTEMPTS_PER_MINUTE * 10 if running else 0
    step = (end - campaign.started_at).total_seconds() / max(total, 1) if campaign.started_at else 0
    rows, placed, done = [], [], 0

    def flush() -> None:
        CampaignRow.objects.bulk_create(rows)
        PlacedCall.objects.bulk_create(placed)
        rows.clear()
        placed.clear()

    for number, (state, tries) in enumerate(zip(states, attempts, strict=True), start=2):  # header: row 1
        phone = f"+23480{number:08d}"
        name = f"Customer {number}"
        context = f"Remind {name} about invoice INV-{number}"
        status = state if state in ("completed", "no_answer", "busy", "failed") else ""
        call_id = f"call_b{campaign.pk}r{number}" if tries and state != "dialing" else ""
        times = []
        for _ in range(tries):
            done += 1
            left = total - done
            times.append(
                end - timedelta(seconds=left * 2 if left < recent else recent * 2 + (left - recent) * step)
            )
        rows.append(
            CampaignRow(
                campaign=campaign,
                number=number,
                customer_phone=phone if state != "invalid" else f"0{number}",
                customer_name=name,
                cells={"customer_phone": phone, "customer_name": name, "invoice": f"INV-{number}"},
                context=context,
                state=state,
                reason=REASONS.get(state, ""),
                attempts=tries,
                last_call_id=call_id,
                last_status=status,
                next_attempt_at=now + timedelta(minutes=30) if state == "pending" and tries else None,
                outcome_at=times[-1] if status else None,
                finished_at=times[-1] if status and state == "completed" else None,
            )
        )
        payload = {
            "customer_phone": phone,
            "customer_name": name,
            "purpose": campaign.purpose,
            "context": context,
            "business_voice_number_id": campaign.business_voice_number_id,
            "ai_agent_id": campaign.ai_agent_id,
        }
        placed += [
            PlacedCall(
                username=campaign.created_by_name,
                payload=payload,
                payload_fingerprint="0" * 64,
                customer_phone=phone,
                outcome=PlacedCall.Outcome.QUEUED,
                origin=PlacedCall.Origin.CAMPAIGN,
                origin_ref=f"{campaign.pk}:{number}:{attempt}",
                idempotency_key=attempt_key(campaign, number, attempt),
                vox_placement_id=call_id,
                attempted_at=at,
            )
            for attempt, at in enumerate(times, start=1)
        ]
        if len(rows) >= BATCH:
            flush()
    flush()
    campaign.rows_read = count
    campaign.save(update_fields=["rows_read"])


def seed(
    *,
    big_rows: int = 100_000,
    campaigns: int = 50,
    small_rows: tuple[int, int] = (200, 2000),
    seed_value: int = 1,
):
    """The campaigns; returns the big one (the newest, so the list's first page counts it too)."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from voxdash.campaigns.models import Campaign, CampaignEvent
    from voxdash.placements.models import PlacedCall

    # auto_now_add would stamp every record "now": the seed says when each attempt started.
    field = PlacedCall._meta.get_field("attempted_at")
    field.auto_now_add = False
    rng = random.Random(seed_value)
    now = timezone.now()
    user = User.objects.get_or_create(username="campaign-maker")[0]
    states = [Campaign.State.FINISHED] * 6 + [Campaign.State.CANCELLED, Campaign.State.DRAFT]
    for n in range(campaigns - 1):
        state = states[n % len(states)] if n >= 2 else Campaign.State.RUNNING
        created = now - timedelta(days=campaigns - n)
        small = _campaign(f"Reminders {n + 1}", state, created, user)
        _fill(small, rng, rng.randint(*small_rows), now)
        CampaignEvent.objects.create(
            campaign=small, action=CampaignEvent.Action.CREATED, username=user.username
        )
    big = _campaign(
        "December invoices",
        Campaign.State.RUNNING,
        now - timedelta(hours=50),
        user,
        started_at=now - timedelta(hours=48),
    )
    _fill(big, rng, big_rows, now)
    for action in (CampaignEvent.Action.CREATED, CampaignEvent.Action.STARTED):
        CampaignEvent.objects.create(campaign=big, action=action, username=user.username)
    field.auto_now_add = True
    # Plans as on a database that has lived a while (not inside a transaction: a test's).
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return big


def seeded_campaign(*, big_rows: int = 100_000):
    """The big campaign of an earlier seed of this database, or None (the database is seeded anew)."""
    from voxdash.campaigns.models import Campaign

    return Campaign.objects.filter(name=BIG_NAME, rows_read=big_rows).first()


def attempts_bring_forward(*, campaign) -> None:
    """Move every attempt as far forward as the newest is behind now: a database seeded a while
    ago still has its last 10 minutes of attempts, so the dial rate measures what it would live."""
    from django.db.models import F, Max
    from django.utils import timezone

    from voxdash.placements.models import PlacedCall

    newest = PlacedCall.objects.filter(origin_ref__startswith=f"{campaign.pk}:").aggregate(
        at=Max("attempted_at")
    )["at"]
    if newest:
        PlacedCall.objects.update(attempted_at=F("attempted_at") + (timezone.now() - newest))
