"""`manage.py vox`: what an operator sees when checking a key."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vox_simulator import keys
from voxdash.vox import reset_client


def run(*args):
    out = StringIO()
    call_command("vox", *args, stdout=out)
    return out.getvalue()


def test_health_says_test_mode_loudly(vox_settings):
    output = run("health")
    assert "TEST MODE" in output
    assert "Business" in output and "Latency" in output
    assert "clv_test_sk_…" in output and keys.DEMO_KEY not in output


def test_health_with_a_live_key(vox_settings):
    vox_settings.VOX_API_KEY = keys.LIVE_KEY
    reset_client()
    output = run("health")
    assert "live" in output and "TEST MODE" not in output


def test_health_json(vox_settings):
    data = json.loads(run("health", "--json"))
    assert data["environment"] == "test" and data["latency_ms"] > 0


def test_numbers_and_agents_tables(vox_settings):
    numbers = run("numbers")
    assert numbers.splitlines()[0].split()[:2] == ["ID", "NUMBER"]
    assert "+" in numbers
    agents = run("agents")
    assert agents.splitlines()[0].split()[:2] == ["ID", "NAME"]
    assert len(agents.splitlines()) > 1


def test_calls_with_filters(vox_settings):
    output = run("calls", "--status", "completed", "--limit", "5")
    lines = output.splitlines()
    assert len(lines) == 1 + 5 + 1  # header, rows, footer
    assert all(" completed " in line for line in lines[1:6])
    assert lines[-1].startswith("page 1 of ")


def test_calls_json(vox_settings):
    data = json.loads(run("calls", "--direction", "inbound", "--page", "2", "--limit", "3", "--json"))
    assert data["meta"]["page"] == 2 and len(data["calls"]) == 3
    assert all(c["direction"] == "inbound" for c in data["calls"])
    assert data["calls"][0]["created_at"].endswith("+00:00")
    assert "raw" not in data["calls"][0]


@pytest.mark.parametrize("key,needle", [(keys.EXPIRED_KEY, "expired"), (keys.IP_BLOCKED_KEY, "IP")])
def test_vox_errors_exit_1_with_the_message(vox_settings, key, needle):
    vox_settings.VOX_API_KEY = key
    reset_client()
    with pytest.raises(CommandError) as info:
        run("health")
    assert info.value.returncode == 1
    assert needle.lower() in str(info.value).lower()
    assert key not in str(info.value)


def test_bad_page_is_a_command_error(vox_settings):
    with pytest.raises(CommandError):
        run("calls", "--page", "0")
