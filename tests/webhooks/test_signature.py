"""voxdash.webhooks.signature against headers made by the simulator's signer."""

import time

import pytest

from vox_simulator.webhooks import signature_header
from voxdash.webhooks.signature import SignatureError, sign, verify

SECRET = "whsec_unit_test_secret"
BODY = b'{"id":"evt_1","type":"vox.call.completed","data":{"callId":"c1"}}'


def test_good_signature_returns_its_timestamp():
    now = int(time.time())
    assert verify(SECRET, signature_header(SECRET, BODY, now), BODY) == now


def test_tampered_body_is_refused():
    header = signature_header(SECRET, BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header, BODY.replace(b"c1", b"c2"))


def test_wrong_secret_is_refused():
    header = signature_header("whsec_someone_else", BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header, BODY)


def test_key_is_the_whole_whsec_string():
    # Keyed with the part after "whsec_" (a plausible misreading) must not verify.
    header = signature_header(SECRET.removeprefix("whsec_"), BODY)
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_timestamp_outside_five_minutes_is_refused_both_ways(offset):
    t = int(time.time()) + offset
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, signature_header(SECRET, BODY, t), BODY)


@pytest.mark.parametrize("offset", [-299, 299])
def test_timestamp_inside_five_minutes_is_accepted(offset):
    now = 1_800_000_000
    assert verify(SECRET, signature_header(SECRET, BODY, now + offset), BODY, now=now) == now + offset


@pytest.mark.parametrize(
    "header", [None, "", "garbage", "v1=abc", "t=123", "t=12a,v1=ab", "t=-5,v1=ab", "t=١٢٣,v1=ab", "t=,v1="]
)
def test_missing_or_malformed_header_is_refused(header):
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY)


def test_any_of_several_v1_values_may_match_during_rotation():
    t = int(time.time())
    good = sign(SECRET, BODY, t)
    old = sign("whsec_old_secret", BODY, t)
    assert verify(SECRET, f"t={t},v1={old},v1={good}", BODY) == t
    assert verify(SECRET, f"t={t}, v1={good}, v1={old}", BODY) == t  # spaces after commas
    with pytest.raises(SignatureError):
        verify(SECRET, f"t={t},v1={old},v1={'0' * 64}", BODY)


def test_signature_for_another_timestamp_does_not_verify():
    # An attacker replaying an old body with a fresh t cannot reuse the old v1.
    t = int(time.time())
    old_v1 = sign(SECRET, BODY, t - 1000)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, f"t={t},v1={old_v1}", BODY)


def test_unknown_schemes_and_non_ascii_values_do_not_crash():
    t = int(time.time())
    good = sign(SECRET, BODY, t)
    assert verify(SECRET, f"t={t},v0=zz,v2=yy,v1={good}", BODY) == t
    with pytest.raises(SignatureError):
        verify(SECRET, f"t={t},v1=é{good[1:]}", BODY)


def test_no_secret_configured_refuses_everything():
    with pytest.raises(SignatureError, match="not configured"):
        verify("", signature_header("", BODY), BODY)
