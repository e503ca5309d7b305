"""The Idempotency-Key guard's own cases: a key still being answered, a claim its process left
behind, a key per endpoint, and keys forgotten after the retention (voxdash.api.idempotency)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from voxdash.api.idempotency import (
    Claimed,
    idempotency_claim,
    idempotency_finish,
    idempotency_release,
    idempotent_requests_prune,
    vox_key,
)
from voxdash.api.models import IdempotentRequest
from voxdash.placements.models import PlacedCall, payload_fingerprint
from voxdash.placements.scheduled import send_lease

from .placing import call_body, place
from .test_auth import assert_error

pytestmark = pytest.mark.django_db


def _claim(api, body, *, key="key-1", age=timedelta(0)):
    """A claim as another process leaves it mid-answer: in progress, claimed `age` ago."""
    return IdempotentRequest.objects.create(
        token=api.token,
        operation="place",
        key=key,
        fingerprint=payload_fingerprint({**body, "confirm_outside_hours": False}),
        claimed_at=timezone.now() - age,
    )


def test_a_key_still_being_answered_is_409_with_retry_after_and_dials_nothing(api, simulator):
    body = call_body(simulator)
    _claim(api, body)
    response = place(api, body)
    assert_error(response, 409, "idempotency_key_in_progress")
    assert response["Retry-After"] == "1"
    assert simulator.stats()["dialed"] == 0 and not PlacedCall.objects.exists()


def test_a_claim_older_than_a_request_takes_is_told_when_its_lease_ends(api, simulator):
    """Its process most likely died: knocking every second until the lease ends would only spend
    the token's rate limit, so Retry-After says when a retry can take it over."""
    body = call_body(simulator)
    _claim(api, body, age=timedelta(seconds=30))
    response = place(api, body)
    assert_error(response, 409, "idempotency_key_in_progress")
    left = (send_lease() - timedelta(seconds=30)).total_seconds()
    assert left - 2 <= int(response["Retry-After"]) <= left + 1


def test_a_request_whose_claim_was_taken_over_neither_answers_nor_frees_the_key(make_token):
    """The slow first request ends after another took its claim over: the new claimant's answer
    stands (finish), and its claim stays (release)."""
    token = make_token().token
    slow = idempotency_claim(token=token, operation="place", key="k", body={"a": 1})
    assert isinstance(slow, Claimed)
    IdempotentRequest.objects.filter(pk=slow.row.pk).update(claimed_at=timezone.now() - send_lease() * 2)
    stale = Claimed(IdempotentRequest.objects.get(pk=slow.row.pk))
    taker = idempotency_claim(token=token, operation="place", key="k", body={"a": 1})
    assert isinstance(taker, Claimed)
    idempotency_release(claimed=stale)
    assert IdempotentRequest.objects.filter(pk=slow.row.pk).exists()
    idempotency_finish(claimed=stale, status=201, body={"who": "stale"})
    idempotency_finish(claimed=taker, status=201, body={"who": "taker"})
    assert IdempotentRequest.objects.get().response_body == '{"who": "taker"}'


def test_a_claim_left_past_the_lease_is_taken_over_and_answered_once(api, simulator):
    body = call_body(simulator)
    _claim(api, body, age=send_lease() + timedelta(seconds=5))
    first = place(api, body)
    assert first.status_code == 201, first.content
    assert first.json()["key"] == str(vox_key(token=api.token, operation="place", key="key-1"))
    assert place(api, body)["Idempotency-Replayed"] == "true"
    assert simulator.stats()["dialed"] == 1
    assert IdempotentRequest.objects.get().state == IdempotentRequest.State.DONE


def test_a_refused_request_releases_its_key(api, simulator):
    body = call_body(simulator)
    assert_error(place(api, {**body, "customer_phone": "not a phone"}), 422, "validation_error")
    assert not IdempotentRequest.objects.exists()
    assert place(api, body).status_code == 201  # the corrected body, with the same key
    assert simulator.stats()["dialed"] == 1


def test_the_vox_key_is_the_same_for_the_same_token_and_key_only(make_token):
    crm, billing = make_token().token, make_token().token
    assert vox_key(token=crm, operation="place", key="k") == vox_key(token=crm, operation="place", key="k")
    assert vox_key(token=crm, operation="place", key="k") != vox_key(
        token=billing, operation="place", key="k"
    )
    assert vox_key(token=crm, operation="place", key="k") != vox_key(token=crm, operation="schedule", key="k")


def test_keys_are_forgotten_after_the_retention(make_token, settings):
    settings.VOXDASH_API_RETENTION_DAYS = 30
    token = make_token().token
    for key, age in (("old", 31), ("recent", 1)):
        IdempotentRequest.objects.create(
            token=token,
            operation="place",
            key=key,
            fingerprint="f",
            claimed_at=timezone.now() - timedelta(days=age),
        )
    assert idempotent_requests_prune() == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["recent"]
