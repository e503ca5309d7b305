"""Schemathesis against the live API: every operation in /api/v1/openapi.json, with a token of
each scope alone and one of all scopes, never answers a 5xx and always answers what the schema
says (its status codes and bodies). The operations are read from the live schema, so an endpoint
added later is covered without a change here.

Kept fast and deterministic: derandomized generation (a fixed seed) and a few examples per
operation, data that fits the schema and data that does not; no example database (a failure is
shown by the run itself, not replayed from disk). The database is the live server's
transactional one, flushed after each run, so what the POSTs make (placed calls, campaigns,
do-not-call entries) never reaches another run.

Each operation is run with `operation.as_strategy()` under Hypothesis here rather than through
`schemathesis.pytest.from_fixture`: that integration sets `Function._nodeid`, which pytest 9.2 no
longer has.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from voxdash.api.scopes import SCOPES

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = 4  # per operation, token and mode
# A token of each scope alone (what it may not do must be a clean 403), and one of every scope.
TOKENS = [[scope] for scope in SCOPES] + [list(SCOPES)]


@pytest.fixture
def mirrored(transactional_db, vox_settings):
    """Data to read: the simulator's calls and directory, as a sync leaves them."""
    from voxdash.calls.sync import calls_sync
    from voxdash.directory.sync import directory_sync

    directory_sync()
    calls_sync(full=True)


@pytest.fixture(params=TOKENS, ids=["+".join(scopes) for scopes in TOKENS])
def token(request, make_token, mirrored):
    # The per-token limit would turn the run into 429s after a minute's worth of requests.
    return make_token(scopes=request.param, rate_per_minute=1_000_000).raw


def run_operation(operation, *, base_url: str, token: str, mode: GenerationMode) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode, headers={"Authorization": f"Bearer {token}"}))
    def examples(case):
        case.call_and_validate(base_url=base_url, checks=CHECKS)

    examples()


def test_the_api_keeps_to_its_schema(live_server, token):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5  # the schema was read (a broken one would list nothing)
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                run_operation(operation, base_url=live_server.url, token=token, mode=mode)
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label  # no input to get wrong
            except (AssertionError, FailureGroup) as exc:  # every operation's, not the first's
                failures.append(f"{operation.label} ({mode}):\n{exc}")
    assert not failures, "\n\n".join(failures)
