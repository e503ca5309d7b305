"""Schemathesis against the live API: every operation in /api/v1/openapi.json, with a token of
each scope alone and one of all scopes, never answers a 5xx and always answers what the schema
says (its status codes and bodies). The operations are read from the live schema, so an endpoint
added later is covered without a change here.

Kept fast and deterministic: derandomized generation (a fixed seed) and a few examples per
operation, data that fits the schema and data that does not, and where a path takes an id, the
id of a real object (so the 200s of the detail and action endpoints are checked, not only their
404s); no example database (a failure is shown by the run itself, not replayed from disk). The
database is the live server's transactional one, flushed after each run, so what the POSTs make
(placed calls, campaigns, do-not-call entries) never reaches another run.

Each operation is run with `operation.as_strategy()` under Hypothesis here rather than through
`schemathesis.pytest.from_fixture`: that integration sets `Function._nodeid`, which pytest 9.2 no
longer has.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from voxdash.api.scopes import SCOPES
from voxdash.calls.sync import calls_sync
from voxdash.directory.sync import directory_sync

# Never HTML: every answer is of the media type its status declares (application/json).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 4  # per operation, token and mode
# A token of each scope alone (what it may not do must be a clean 403), and one of every scope.
TOKENS = [[scope] for scope in SCOPES] + [list(SCOPES)]


@pytest.fixture
def mirrored(transactional_db, vox_settings, client, make_token):
    """Data to read: the simulator's calls and directory, as a sync leaves them, a draft campaign
    and a listed number; their ids, by the name of the path parameter that takes them."""
    from voxdash.calls.models import Call
    from voxdash.directory import do_not_call
    from voxdash.directory.selectors import agents, voice_numbers

    directory_sync()
    calls_sync(full=True)
    maker = make_token(name="schema-data")
    draft = client.post(
        "/api/v1/campaigns",
        {
            "name": "Schema",
            "business_voice_number_id": next(n.id for n in voice_numbers().items if n.can_place_calls),
            "ai_agent_id": next(a.id for a in agents().items if a.is_active),
            "purpose": "test",
            "context": "Remind {customer_name}",
            "rows": [{"customer_phone": "+2348012345678", "customer_name": "Ada"}],
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {maker.raw}"},
    )
    assert draft.status_code == 201, draft.content
    listed, _ = do_not_call.dnc_add(phone="+2348099999999", user=maker.token.user)
    # A call scheduled through the API: its key is both a placed call's and a cancellable one.
    scheduled = client.post(
        "/api/v1/scheduled-calls",
        {
            "customer_phone": "+2348031234560",
            "purpose": "test",
            "context": "Remind",
            "business_voice_number_id": next(n.id for n in voice_numbers().items if n.can_place_calls),
            "ai_agent_id": next(a.id for a in agents().items if a.is_active),
            "place_at": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {maker.raw}", "Idempotency-Key": "schema"},
    )
    assert scheduled.status_code == 201, scheduled.content
    return {
        "key": scheduled.json()["key"],
        "call_id": Call.objects.first().vox_id,
        "campaign_id": draft.json()["id"],
        "phone": listed.phone,
    }


@pytest.fixture(params=TOKENS, ids=["+".join(scopes) for scopes in TOKENS])
def token(request, make_token):
    # The per-token limit would turn the run into 429s after a minute's worth of requests.
    return make_token(scopes=request.param, rate_per_minute=1_000_000)


def run_operation(
    operation, *, base_url: str, token: str, mode: GenerationMode, answered: list, path_parameters=None
) -> None:
    strategy = operation.as_strategy(
        mode, headers={"Authorization": f"Bearer {token}"}, path_parameters=path_parameters
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def examples(case):
        response = case.call_and_validate(base_url=base_url, checks=CHECKS)
        answered.append((operation.label, response.status_code))

    examples()


def test_the_api_keeps_to_its_schema(live_server, mirrored, token):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5  # the schema was read (a broken one would list nothing)
    failures, answered = [], []
    for operation in operations:
        # Generated input (mostly ids of nothing: 404s), input that breaks the schema (422s), and,
        # where the path takes an id, one of a real object, so its 200s are checked too.
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        names = {p.name for p in operation.path_parameters}
        if names and names <= set(mirrored):
            runs.append((GenerationMode.POSITIVE, {name: mirrored[name] for name in names}))
        for mode, known in runs:
            try:
                run_operation(
                    operation,
                    base_url=live_server.url,
                    token=token.raw,
                    mode=mode,
                    answered=answered,
                    path_parameters=known,
                )
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label  # no input to get wrong
            except (AssertionError, FailureGroup) as exc:  # every operation's, not the first's
                failures.append(f"{operation.label} ({mode}{', known ids' if known else ''}):\n{exc}")
    assert not failures, "\n\n".join(failures)
    if set(token.token.scopes) == set(SCOPES):
        # Not a vacuous pass: with every scope, each read answered with its data at least once.
        reads = {op.label for op in operations if op.method.upper() == "GET"}
        assert reads <= {label for label, status in answered if status == 200}, answered
