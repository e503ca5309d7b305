"""What campaign tests read from the simulator: dials counted per phone and per idempotency key,
and outcomes planned per phone (in process and over HTTP)."""

import httpx
import pytest

from vox_simulator import keys

from .conftest import call_body


def place(simulator, phone: str, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {keys.DEMO_KEY}", "User-Agent": "voxdash-tests"}
    if key:
        headers["Idempotency-Key"] = key
    return httpx.post(
        f"{simulator.base_url}/v1/vox/calls",
        json={**call_body(simulator), "customer_phone": phone},
        headers=headers,
    )


def ends(simulator, phone: str) -> list[str]:
    """Run every live call to its end; the statuses of this phone's calls, oldest first."""
    for _ in range(3):
        simulator.advance()
    return [c.status for c in reversed(simulator.store.all_calls()) if c.customer_phone == phone]


def test_dials_are_counted_per_phone_and_per_key_replays_not(simulator):
    place(simulator, "+2348030000001", key="key-1")
    place(simulator, "+2348030000001", key="key-1")  # a replay: not a dial
    place(simulator, "+2348030000001", key="key-2")
    place(simulator, "+2348030000002")  # no key: counted by phone only

    stats = simulator.stats()
    assert stats["dialed_by_phone"] == {"+2348030000001": 2, "+2348030000002": 1}
    assert stats["dialed_by_key"] == {"key-1": 1, "key-2": 1}
    simulator.reset()
    assert simulator.stats()["dialed_by_key"] == {}


def test_planned_outcomes_come_in_order_and_the_last_repeats(simulator):
    simulator.plan_outcomes({"+2348030000001": ["no_answer", "busy", "completed"]})
    for _ in range(4):
        place(simulator, "+2348030000001")

    assert ends(simulator, "+2348030000001") == ["no_answer", "busy", "completed", "completed"]


def test_outcomes_are_planned_over_http_and_nonsense_is_refused(simulator):
    answer = httpx.post(f"{simulator.base_url}/_simulator/outcomes", json={"+2348030000007": ["completed"]})
    assert answer.json() == {"ok": True}
    place(simulator, "+2348030000007")  # 7 would be busy
    assert ends(simulator, "+2348030000007") == ["completed"]

    refused = httpx.post(f"{simulator.base_url}/_simulator/outcomes", json={"+2348030000007": ["voicemail"]})
    assert refused.status_code == 400 and "outcomes must be some of" in refused.json()["message"]


@pytest.mark.parametrize(
    ("digit", "outcome"), [("7", "busy"), ("8", "failed"), ("9", "no_answer"), ("1", "completed")]
)
def test_without_a_plan_the_last_digit_decides(simulator, digit, outcome):
    place(simulator, f"+234803000000{digit}")
    assert ends(simulator, f"+234803000000{digit}") == [outcome]
