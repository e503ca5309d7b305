"""`make demo`'s runner: starts everything, prints the URL and logins, and leaves nothing behind."""

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from vox_simulator.demo import DEMO_API_TOKEN

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with(marker: str) -> list[int]:
    """Every live process whose environment carries `marker` (the demo's children inherit it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def sign_in_with_the_identity_provider(base: str, issuer: str, username: str) -> httpx.Response:
    """The trip a browser makes: voxdash's "Sign in with …" button, the provider's form, back to
    voxdash; its last page."""
    with httpx.Client(follow_redirects=True, timeout=20) as http:
        login = http.get(f"{base}/accounts/login/")
        assert "Sign in with Demo identity provider" in login.text, login.text[:2000]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        form = http.post(f"{base}/accounts/oidc/oidc/login/", data={"csrfmiddlewaretoken": token})
        assert str(form.url).startswith(issuer), (form.url, form.text[:1000])
        action = re.search(r'action="(/interaction/[\w-]+/login)"', form.text).group(1)
        return http.post(issuer + action, data={"login": username, "password": username})


def verify_delivery(received: dict, secret: str) -> bool:
    """The receiver's check (docs/api.md): HMAC-SHA256 of "{t}." + body with the secret."""
    import hashlib
    import hmac

    parts = dict(p.split("=", 1) for p in received["headers"]["voxdash-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{received['body']}".encode(), hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def test_demo_starts_prints_logins_shows_a_finished_campaign_and_two_ctrl_c_stop_everything(tmp_path):
    marker = f"VOXDASH_DEMO_TEST={uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        VOXDASH_VAR_DIR=str(tmp_path),
        DEMO_PORT=str(free_port()),
        DEMO_SIMULATOR_PORT=str(free_port()),
        DEMO_IDENTITY_PORT=str(free_port()),
        # The demo's own 15 s is for people; the notice below needs only one evaluation after the end.
        VOXDASH_ALERTS_EVERY="3",
        VOXDASH_DEMO_TEST=marker.split("=", 1)[1],
    )
    demo = subprocess.Popen(
        [sys.executable, "-m", "vox_simulator.demo"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            output.append(line)
            if "Press Ctrl-C to stop everything" in line or not line:
                break
        text = "".join(output)
        assert f"http://127.0.0.1:{env['DEMO_PORT']}/" in text, text[-2000:]
        assert "admin / voxdash-admin" in text and "staff / voxdash-staff" in text
        assert len(processes_with(marker)) >= 5  # simulator, web, worker, beat, identity provider
        # Single sign-on through the demo's real OpenID Connect provider: dana's group makes her a Caller.
        assert "Sign in with Demo identity provider" in text and "dana / dana (a Caller)" in text
        base, issuer = f"http://127.0.0.1:{env['DEMO_PORT']}", f"http://127.0.0.1:{env['DEMO_IDENTITY_PORT']}"
        overview = sign_in_with_the_identity_provider(base, issuer, "dana")
        assert overview.status_code == 200 and str(overview.url) == f"{base}/", overview.url
        assert "Signed in as <strong>Dana</strong>" in overview.text and "Place a call" in overview.text
        # The local copy is filled at start: the agent and number filters that read it offer
        # choices from the first page, not only after the directory's first sync 10 minutes in.
        with contextlib.closing(sqlite3.connect(tmp_path / "voxdash.sqlite3")) as db:
            counts = [
                db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("directory_agent", "directory_voicenumber", "calls_call")
            ]
        assert all(counts), counts
        # voxdash's own API answers the printed token with the mirrored calls (the curl line).
        assert DEMO_API_TOKEN in text and "/api/v1/" in text
        calls = httpx.get(
            f"{base}/api/v1/calls", params={"limit": 3}, headers={"Authorization": f"Bearer {DEMO_API_TOKEN}"}
        )
        assert calls.status_code == 200 and len(calls.json()["data"]) == 3, calls.text[:500]
        # A finished campaign to look at, run by the demo's own worker through the simulator
        # (outcomes by the phone's last digit), and the do-not-call entries it skipped one row for.
        assert "demo_campaign.csv" in text and "/campaigns/" in text and "has finished" in text
        with contextlib.closing(sqlite3.connect(tmp_path / "voxdash.sqlite3")) as db:
            campaigns = db.execute("SELECT id, state FROM campaigns_campaign").fetchall()
            assert [state for _, state in campaigns] == ["finished"], campaigns
            rows = dict(
                db.execute(
                    "SELECT state, count(*) FROM campaigns_campaignrow WHERE campaign_id = ? GROUP BY state",
                    (campaigns[0][0],),
                ).fetchall()
            )
            placed = db.execute(
                "SELECT count(*) FROM placements_placedcall WHERE origin = 'campaign'"
            ).fetchone()
            listed = db.execute(
                "SELECT count(*) FROM placements_placedcall WHERE listed_call_id != ''"
            ).fetchone()
            do_not_call = db.execute("SELECT count(*) FROM directory_donotcallentry").fetchone()[0]
        assert rows == {
            "completed": 6,
            "busy": 1,
            "failed": 1,
            "no_answer": 1,
            "do_not_call": 1,
            "invalid": 1,
            "duplicate": 1,
        }, rows
        assert placed == (9,) and listed == (9,)  # each dialled row once, linked to its call
        assert do_not_call >= 3
        # Alerts reach the demo's file channel: the finished campaign is announced once, by beat's
        # evaluation (every 15 s in the demo) and the worker's delivery.
        assert str(tmp_path / "demo-alerts.log") in text and "_simulator/faults" in text
        alerts = tmp_path / "demo-alerts.log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Campaign finished" not in (
            alerts.read_text() if alerts.exists() else ""
        ):
            time.sleep(0.5)
        notices = alerts.read_text().splitlines()
        assert [line for line in notices if "Campaign finished" in line][:1], notices
        assert len([line for line in notices if "Campaign finished" in line]) == 1, notices
        # Events out: the demo's subscription has told the simulator's inbox (the stand-in CRM)
        # that the campaign finished, signed with the subscription's secret, and its page says so.
        assert "/_simulator/inbox" in text
        inbox_url = f"http://127.0.0.1:{env['DEMO_SIMULATOR_PORT']}/_simulator/inbox"
        deadline = time.monotonic() + 30
        finished = []
        while not finished and time.monotonic() < deadline:
            received = httpx.get(inbox_url).json()
            finished = [e for e in received if '"action":"finished"' in e["body"]]
            time.sleep(0.5)
        assert finished, received
        with contextlib.closing(sqlite3.connect(tmp_path / "voxdash.sqlite3")) as db:
            secret = db.execute("SELECT secret FROM subscriptions_subscription").fetchone()[0]
        assert verify_delivery(finished[0], secret)
    finally:
        # Ctrl-C pressed again and again while it stops: none of it may abandon a child.
        for _ in range(40):
            if demo.poll() is not None:
                break
            demo.send_signal(signal.SIGINT)
            time.sleep(0.005)
        rest = demo.communicate(timeout=60)[0]
    # It finished its own shutdown (which ends with SIGKILL for any child that will not stop),
    # rather than dying half-way with a traceback.
    assert "Traceback" not in rest and rest.rstrip().endswith("Stopped."), rest[-1500:]
    deadline = time.monotonic() + 15
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == []
