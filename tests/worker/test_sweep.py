"""The sweep's rules, without a worker: what is stranded, how many a run, never twice within the age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.utils import timezone

from voxdash import sweep
from voxdash.calls.models import SyncState
from voxdash.calls.tasks import sync_calls
from voxdash.mirror.lock import sync_lock
from voxdash.webhooks.models import WebhookEvent

from .events import store_events

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ages(settings):
    settings.VOXDASH_SWEEP_AFTER_SECONDS = 120
    settings.VOXDASH_SWEEP_BATCH = 500


def age(pks: list[int], seconds: float) -> None:
    WebhookEvent.objects.filter(pk__in=pks).update(received_at=timezone.now() - timedelta(seconds=seconds))


def test_only_pending_events_older_than_the_age_are_claimed():
    old = store_events(3, prefix="old", enqueue=False)
    young = store_events(2, prefix="young", enqueue=False)
    done = store_events(2, prefix="done", enqueue=False)
    age(old + done, 121)
    age(young, 60)
    WebhookEvent.objects.filter(pk__in=done[:1]).update(outcome=WebhookEvent.Outcome.APPLIED)
    WebhookEvent.objects.filter(pk__in=done[1:]).update(outcome=WebhookEvent.Outcome.FAILED)
    assert sweep.webhook_events_claim_stranded() == old


def test_a_run_claims_at_most_the_batch_oldest_first_and_none_twice_within_the_age(settings):
    settings.VOXDASH_SWEEP_BATCH = 4
    pks = store_events(10, enqueue=False)
    for i, pk in enumerate(pks):
        age([pk], 1000 - i)  # pks[0] is the oldest
    assert sweep.webhook_events_claim_stranded() == pks[:4]
    # The next minute: those four are queued already (maybe waiting behind a busy queue).
    assert sweep.webhook_events_claim_stranded() == pks[4:8]
    assert sweep.webhook_events_claim_stranded() == pks[8:]
    assert sweep.webhook_events_claim_stranded() == []


def test_claims_expire_with_the_age(settings):
    settings.VOXDASH_SWEEP_AFTER_SECONDS = 1
    [pk] = store_events(1, enqueue=False)
    age([pk], 5)
    assert sweep.webhook_events_claim_stranded() == [pk]
    assert sweep.webhook_events_claim_stranded() == []
    cache.delete(f"{sweep.CLAIM_PREFIX}webhook:{pk}")  # as the claim's one-age timeout does
    assert sweep.webhook_events_claim_stranded() == [pk]


def stopped_full_sync(last_page_seconds_ago: float) -> SyncState:
    return SyncState.objects.create(
        name="calls", full_next_page=3, last_page_at=timezone.now() - timedelta(seconds=last_page_seconds_ago)
    )


def test_a_full_sync_stopped_mid_walk_is_claimed_once():
    stopped_full_sync(121)
    assert sweep.calls_full_sync_claim_stalled() is True
    assert sweep.calls_full_sync_claim_stalled() is False  # queued already, within the age


def test_a_full_sync_is_not_claimed_while_it_runs_or_pages_recently_or_finished():
    state = stopped_full_sync(60)
    assert sweep.calls_full_sync_claim_stalled() is False  # a page a minute ago: it is alive
    SyncState.objects.filter(pk=state.pk).update(last_page_at=timezone.now() - timedelta(seconds=600))
    with sync_lock("calls"):  # alive, waiting for budget: the lock says so
        assert sweep.calls_full_sync_claim_stalled() is False
    SyncState.objects.filter(pk=state.pk).update(full_next_page=None)
    assert sweep.calls_full_sync_claim_stalled() is False  # nothing to resume


def test_a_second_full_sync_while_a_full_walk_runs_drops_itself():
    # The copy Redis delivers again after the visibility timeout, or one the sweep queued: it must
    # not wait and then walk everything again from page 1.
    stopped_full_sync(0)
    with sync_lock("calls"):
        assert sync_calls(full=True) is None  # called directly, a retry would raise Retry


def test_a_full_sync_while_an_incremental_runs_still_comes_back_later():
    SyncState.objects.create(name="calls")
    with sync_lock("calls"), pytest.raises(Retry):
        sync_calls(full=True)
