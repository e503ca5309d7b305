"""The error tree: types to branch on, safe messages, banner text, and pickling for Celery."""

import pickle

import pytest

from voxdash.vox import errors

KEY = "clv_live_sk_AbCdEfGhIjKlMnOpQrStUvWxYz012345"

ALL_ERRORS = [
    errors.VoxError("x"),
    errors.VoxAuthError(),
    errors.InvalidApiKey(),
    errors.ExpiredApiKey(),
    errors.VoxForbidden(),
    errors.MissingScope("Missing required scope: vox:calls:create", status=403, code="missing_scope"),
    errors.IpNotAllowed(),
    errors.OriginNotAllowed(),
    errors.EdgeRejected(),
    errors.VoxBadRequest(),
    errors.VoxNotFound(),
    errors.VoxValidationError("bad", details=[errors.FieldError("customer_phone", "Must be E.164")]),
    errors.VoxConflict(),
    errors.IdempotencyKeyReused(),
    errors.RequestInProgress(),
    errors.VoxRateLimited("slow down", retry_after=12.0),
    errors.VoxUnavailable("down", status=502),
    errors.VoxTimeout(),
    errors.VoxConnectionError(),
    errors.VoxBadResponse(),
]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_attributes(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.__dict__ == error.__dict__
    assert (str(copy), copy.hint, copy.user_message) == (str(error), error.hint, error.user_message)


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_has_banner_text(error):
    assert isinstance(error, errors.VoxError)
    assert error.message and error.user_message and error.hint


def test_transient_errors_are_retryable_and_the_rest_are_not():
    transient = {
        errors.RequestInProgress,
        errors.VoxRateLimited,
        errors.VoxUnavailable,
        errors.VoxTimeout,
        errors.VoxConnectionError,
    }
    for error in ALL_ERRORS:
        assert error.retryable is (type(error) in transient), type(error)
        assert isinstance(error, errors.VoxTransientError) is (type(error) in transient)
    assert isinstance(errors.RequestInProgress(), errors.VoxConflict)


def test_default_statuses():
    assert errors.ExpiredApiKey().status == 401
    assert errors.EdgeRejected().status == 403
    assert errors.VoxValidationError().status == 422
    assert errors.RequestInProgress().status == 409
    assert errors.VoxRateLimited().status == 429
    assert errors.VoxTimeout().status is None


def test_missing_scope_parses_the_scope_and_names_it_in_the_hint():
    error = errors.MissingScope("Missing required scope: vox:calls:create")
    assert error.scope == "vox:calls:create"
    assert "vox:calls:create" in error.hint
    assert errors.MissingScope("Forbidden").scope is None


def test_validation_field_errors_group_messages_by_field():
    error = errors.VoxValidationError(
        details=[
            errors.FieldError("customer_phone", "Required"),
            errors.FieldError("customer_phone", "E.164"),
            errors.FieldError("context", "Empty"),
        ]
    )
    assert error.field_errors == {"customer_phone": ["Required", "E.164"], "context": ["Empty"]}
    assert errors.VoxValidationError().field_errors == {}


def test_rate_limited_hint_mentions_the_wait():
    assert "12 s" in errors.VoxRateLimited(retry_after=12.0).hint
    assert errors.VoxRateLimited().retry_after is None


def test_key_shaped_strings_never_survive_in_messages():
    error = errors.InvalidApiKey(f"Invalid API key {KEY}")
    assert KEY not in str(error) and KEY not in repr(error)
    assert "clv_live_sk_…2345" in str(error)
    detail = errors.VoxValidationError(details=[errors.FieldError("x", f"echo {KEY}")])
    assert KEY not in repr(detail.details)


def test_mask_key():
    assert errors.mask_key(KEY) == "clv_live_sk_…2345"
    assert errors.mask_key("") == "(none)"
    assert errors.mask_key("short") == "…"
    assert errors.mask_key("some-other-long-secret-9876") == "…9876"
    assert errors.redact("a secret-value b", "secret-value") == "a … b"
