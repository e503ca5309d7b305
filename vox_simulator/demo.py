"""`make demo`: the dashboard, the Vox simulator, a Celery worker and beat, on embedded defaults.

Needs no Redis, PostgreSQL or internet: SQLite and the filesystem broker live in ./var. Stops
everything on Ctrl-C. Running it again reuses the database and resets the demo logins.

At start it also puts a few numbers on the do-not-call list and runs a small campaign
(DEMO_CAMPAIGN, from demo_campaign.csv) through the real worker until it finishes, so the
campaign pages have something to show; the same file is there to upload for a new campaign.

Alerts go to a file (alerts_file(): var/demo-alerts.log) unless VOXDASH_ALERT_URLS says otherwise,
and are evaluated every 15 s; the finished demo campaign is the first notice in it. "Vox unreachable"
must hold one minute here (five by default), so stopping the simulator's answers shows one soon.

Single sign-on: when Node.js and the npm tools are there (scripts/ensure-node-tools), a real OpenID
Connect provider runs too (identity_provider.mjs, npm oidc-provider) with two people whose groups
give their role, and the login page offers "Sign in with Demo identity provider".
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import time as datetime_time
from pathlib import Path

from vox_simulator import keys

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CAMPAIGN = Path(__file__).resolve().parent / "demo_campaign.csv"
DEMO_CAMPAIGN = "Demo: November payment reminders"
# On the demo's do-not-call list; the first is a row of demo_campaign.csv, which is skipped.
DEMO_DO_NOT_CALL = (
    ("+2348031230005", "Asked not to be called about invoices (demo)"),
    ("+2348091234567", "Wrong number, reported by its owner (demo)"),
    ("+233201234567", "Customer closed the account (demo)"),
)
# The demo's API token, public like the demo passwords (the demo database only): the banner prints
# it with a curl line, and seed() makes the token (every scope) and gives it this value.
DEMO_API_TOKEN = "vxd_demo0000_thisIsTheDemoTokenNeverUseItAnywhereReal0000"
DEMO_API_TOKEN_NAME = "Demo CRM"
# The demo's event subscription: every event type, to the simulator's inbox (a stand-in for the CRM).
DEMO_SUBSCRIPTION_NAME = "Demo CRM (the simulator's inbox)"
CAMPAIGN_SECONDS = 120  # how long the start waits for the demo campaign to finish
HOST = "127.0.0.1"
WEB_PORT = int(os.environ.get("DEMO_PORT", "8000"))
SIMULATOR_PORT = int(os.environ.get("DEMO_SIMULATOR_PORT", "8001"))
IDENTITY_PORT = int(os.environ.get("DEMO_IDENTITY_PORT", "8002"))
IDENTITY_PROVIDER = Path(__file__).resolve().parent / "identity_provider.mjs"
IDENTITY_NAME = "Demo identity provider"
# The demo's people at its identity provider (user name = password): their groups give the role,
# by the same VOXDASH_SSO_*_GROUPS as the trusted header's.
IDENTITY_ACCOUNTS = {
    "dana": ("Dana Okafor", ["voxdash-callers"]),
    "victor": ("Victor Bello", ["voxdash-viewers"]),
}


def alerts_file(env: dict[str, str]) -> Path:
    return Path(env.get("VOXDASH_VAR_DIR") or ROOT / "var") / "demo-alerts.log"


def identity_provider_file(env: dict[str, str]) -> Path:
    return Path(env.get("VOXDASH_VAR_DIR") or ROOT / "var") / "demo-identity-provider.json"


def identity_provider_command(env: dict[str, str]) -> list[str] | None:
    """The demo's OpenID Connect provider, its accounts file written afresh; None without Node (or
    when VOXDASH_OIDC_ISSUER already points at a provider of the operator's own)."""
    node = shutil.which("node")
    if env.get("VOXDASH_OIDC_ISSUER") or not node or not (ROOT / "node_modules" / "oidc-provider").is_dir():
        return None
    config = {
        "title": IDENTITY_NAME,
        "clients": [
            {
                "client_id": "voxdash-demo",
                "client_secret": keys.DEMO_OIDC_CLIENT_SECRET,
                "redirect_uris": [f"http://{HOST}:{WEB_PORT}/accounts/oidc/oidc/login/callback/"],
            }
        ],
        "claims": ["groups"],
        "accounts": {
            username: {
                "password": username,
                "claims": {
                    "preferred_username": username,
                    "name": name,
                    "email": f"{username}@example.com",
                    "email_verified": True,
                    "groups": groups,
                },
            }
            for username, (name, groups) in IDENTITY_ACCOUNTS.items()
        },
    }
    path = identity_provider_file(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    env.update(
        VOXDASH_OIDC_ISSUER=f"http://{HOST}:{IDENTITY_PORT}",
        VOXDASH_OIDC_CLIENT_ID="voxdash-demo",
        VOXDASH_OIDC_CLIENT_SECRET=keys.DEMO_OIDC_CLIENT_SECRET,
        VOXDASH_OIDC_NAME=IDENTITY_NAME,
    )
    return [node, str(IDENTITY_PROVIDER), "--config", str(path), "--port", str(IDENTITY_PORT)]


def demo_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("VOXDASH_ALERT_URLS", alerts_file(env).as_uri())
    env.setdefault("VOXDASH_ALERTS_EVERY", "15")
    # The worker and beat log every task at INFO, several a second: the lines printed at start
    # (URL, logins, what to try) would scroll away. Warnings and errors still show.
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update(
        DJANGO_DEBUG="1",
        VOX_API_BASE_URL=f"http://{HOST}:{SIMULATOR_PORT}",
        VOX_API_KEY=keys.DEMO_KEY,
        VOX_WEBHOOK_SECRET=keys.DEMO_WEBHOOK_SECRET,
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("TIME_ZONE", "Africa/Lagos")
    return env


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[2:4]} exited with {process.returncode}; see its output above.")
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"Nothing answered on port {port} after {seconds} s.")


def _interrupt(signum, frame):
    # Only the first interrupt counts: a second Ctrl-C (people press twice) landing while the
    # first is stopping the children would otherwise abandon some of them, still running.
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    # `kill`, a closed terminal or a CI timeout stop the demo as cleanly as Ctrl-C does.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    env = demo_environment()
    identity = identity_provider_command(env)
    ports = [(WEB_PORT, "DEMO_PORT"), (SIMULATOR_PORT, "DEMO_SIMULATOR_PORT")]
    for port, what in ports + ([(IDENTITY_PORT, "DEMO_IDENTITY_PORT")] if identity else []):
        if not port_is_free(port):
            raise SystemExit(f"Port {port} is in use (another `make demo`?). Stop it, or set {what}=<port>.")
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    logins = subprocess.run(
        [*manage, "demo_users"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout

    celery = [python, "-m", "celery", "-A", "voxdash"]
    commands = {
        "simulator": [
            python,
            "-m",
            "vox_simulator",
            "--host",
            HOST,
            "--port",
            str(SIMULATOR_PORT),
            "--webhook-url",
            f"http://{HOST}:{WEB_PORT}/webhooks/vox/",
            "--webhook-secret",
            keys.DEMO_WEBHOOK_SECRET,
        ],
        "web": [*manage, "runserver", f"{HOST}:{WEB_PORT}", "--noreload"],
        "worker": [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "WARNING"],
    }
    if identity:
        commands["identity provider"] = identity
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            # Each child in its own process group, so Ctrl-C reaches only us and we stop them in order.
            # The identity provider's one line on stdout (READY <issuer>) is for the tests' fixture.
            quiet = {"stdout": subprocess.DEVNULL} if name == "identity provider" else {}
            processes[name] = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, **quiet)
        wait_for_port(SIMULATOR_PORT, processes["simulator"])
        if identity:
            wait_for_port(IDENTITY_PORT, processes["identity provider"])
        # Fill the local copy now, as beat's first runs would: the directory's comes only after
        # VOX_SYNC_DIRECTORY_EVERY (10 min), and until then the agent and number filters that read
        # it would offer nothing. A failure here costs only that; beat syncs again anyway.
        subprocess.run([*manage, "vox_sync"], env=env, cwd=ROOT, capture_output=True, timeout=120)
        wait_for_port(WEB_PORT, processes["web"])
        # After the web server is up: the campaign's outcomes come back as webhooks to it.
        campaign_line = seed_in_process(python, env)
        print(
            "\n"
            "  voxdash is running:   http://{host}:{web}/\n"
            "  Vox simulator:        http://{host}:{sim}/  (test key, webhooks to the dashboard)\n"
            "  Logins (user / password):\n{logins}"
            "{single_sign_on}"
            "  Campaigns:            http://{host}:{web}/campaigns/  {campaign}\n"
            "    To run one yourself, sign in as caller, choose New campaign and upload\n"
            "    {sample}\n"
            "    (12 rows: the simulator answers by the last digit, 7 busy, 8 failed, 9 no answer;\n"
            "    one number is on the do-not-call list, one is invalid, one is a duplicate).\n"
            "  Do-not-call list:     http://{host}:{web}/dnc/\n"
            "  voxdash's API:        http://{host}:{web}/api/v1/docs  (sign in as admin; tokens at /api/tokens/)\n"
            "    The demo's token ({token_name}, every scope), e.g.:\n"
            "      curl -H 'Authorization: Bearer {token}' 'http://{host}:{web}/api/v1/calls?limit=3'\n"
            "    Events out: http://{host}:{web}/subscriptions/ sends every event to the simulator's\n"
            "    inbox (a stand-in for the CRM): http://{host}:{sim}/_simulator/inbox\n"
            "  Alerts:               http://{host}:{web}/alerts/  (sign in as admin; audit log at /audit/)\n"
            "    Notices go to {alerts} (tail -f it). To see one fire and resolve, make Vox fail:\n"
            "      curl -d '{{\"error_rate\": 1}}' http://{host}:{sim}/_simulator/faults\n"
            '    "Vox unreachable" fires within two minutes; then clear it and it resolves:\n'
            "      curl -d '{{\"clear\": true}}' http://{host}:{sim}/_simulator/faults\n"
            "  Press Ctrl-C to stop everything.\n".format(
                host=HOST,
                web=WEB_PORT,
                sim=SIMULATOR_PORT,
                logins="".join(f"    {line}\n" for line in logins.splitlines()),
                campaign=campaign_line,
                sample=SAMPLE_CAMPAIGN.relative_to(ROOT),
                alerts=alerts_file(env),
                single_sign_on=single_sign_on_lines(env, identity),
                token=DEMO_API_TOKEN,
                token_name=DEMO_API_TOKEN_NAME,
            ),
            flush=True,
        )
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        stopped = [name for name, p in processes.items() if p.poll() is not None]
        print(f"\n{', '.join(stopped)} stopped unexpectedly; stopping the rest.", flush=True)
    except KeyboardInterrupt:
        print("\nStopping voxdash demo...", flush=True)
    finally:
        stop(processes)


def single_sign_on_lines(env: dict[str, str], identity: list[str] | None) -> str:
    if identity:
        people = ", ".join(
            f"{username} / {username} ({'a Caller' if 'voxdash-callers' in groups else 'a Viewer'})"
            for username, (_, groups) in IDENTITY_ACCOUNTS.items()
        )
        return (
            f'  Single sign-on:       "Sign in with {IDENTITY_NAME}" on the login page: {people}.\n'
            f"    Their groups give the role at each sign-in: edit {identity_provider_file(env)}\n"
            "    (move dana to voxdash-viewers, sign out and in again: she is a Viewer).\n"
        )
    if env.get("VOXDASH_OIDC_ISSUER"):
        return f"  Single sign-on:       {env['VOXDASH_OIDC_ISSUER']} (VOXDASH_OIDC_ISSUER)\n"
    return "  Single sign-on:       off (the demo's identity provider needs Node.js and npm: scripts/ensure-node-tools)\n"


def seed_in_process(python: str, env: dict[str, str]) -> str:
    """Run `seed` in a process of its own (Django set up there, not here); the line it printed."""
    try:
        seeded = subprocess.run(
            [python, "-m", "vox_simulator.demo", "seed"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CAMPAIGN_SECONDS + 60,
        )
    except subprocess.TimeoutExpired:
        return "(the demo campaign was not ready in time; it may still be running)"
    if seeded.returncode:
        print(f"The demo campaign could not be made:\n{seeded.stderr[-2000:]}", flush=True)
        return ""
    return seeded.stdout.strip().splitlines()[-1] if seeded.stdout.strip() else ""


def stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            # The main process only: Celery's warm shutdown stops its own pool processes.
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    print("Stopped.", flush=True)


def seed() -> None:
    """`python -m vox_simulator.demo seed` (run by main): the do-not-call entries and the finished
    demo campaign, made through voxdash's own services and run by the demo's worker. Prints one
    line saying what there is to see."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxdash.settings")
    django.setup()
    from django.contrib.auth.models import User
    from django.core.files import File

    from voxdash.alerts.models import AlertRule
    from voxdash.campaigns import drafts, running
    from voxdash.campaigns.models import Campaign
    from voxdash.campaigns.queue import campaigns_dispatch_request
    from voxdash.directory import selectors as directory
    from voxdash.directory.do_not_call import dnc_add

    # A minute rather than five, so a newcomer who makes Vox fail sees the alert soon (the demo's
    # own database only). Only while it is still the default: a window set at /alerts/ is kept.
    AlertRule.objects.filter(kind=AlertRule.Kind.VOX_UNREACHABLE, builtin=True, window_minutes=5).update(
        window_minutes=1
    )

    caller = User.objects.get(username="caller")  # made by demo_users just before
    demo_api_token(created_by=User.objects.get(username="admin"))
    demo_subscription(created_by=User.objects.get(username="admin"))  # before the campaign: it is told
    for phone, reason in DEMO_DO_NOT_CALL:
        dnc_add(phone=phone, reason=reason, user=caller)

    campaign = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
    if campaign is None:
        number = next(n for n in directory.voice_numbers().items if n.can_place_calls)
        agent = next((a for a in directory.agents().items if a.is_default and a.is_active), None)
        agent = agent or next(a for a in directory.agents().items if a.is_active)
        fields = {
            "name": DEMO_CAMPAIGN,
            "business_voice_number_id": number.id,
            "ai_agent_id": agent.id,
            "purpose": "payment_reminder",
            "context_template": "Remind {customer_name} that invoice {invoice} for NGN {amount} is due on {due}.",
            "max_attempts": 1,
            "retry_after_minutes": 60,
            # Every day, all day (an end not after the start runs past midnight): whenever the demo starts.
            "window_start": datetime_time(0, 0),
            "window_end": datetime_time(0, 0),
            "window_days": "mon,tue,wed,thu,fri,sat,sun",
            "time_zone": "Africa/Lagos",
            "max_in_flight": 5,
        }
        with open(SAMPLE_CAMPAIGN, "rb") as handle:
            campaign = drafts.campaign_create(
                user=caller,
                fields=fields,
                upload=File(handle, name=SAMPLE_CAMPAIGN.name),
                filename=SAMPLE_CAMPAIGN.name,
            )
        running.campaign_act(campaign_id=campaign.pk, action=running.START, user=caller)
        campaigns_dispatch_request()  # on commit: at once, outside a transaction
    deadline = time.monotonic() + CAMPAIGN_SECONDS
    while campaign.state != Campaign.State.FINISHED and time.monotonic() < deadline:
        time.sleep(0.5)
        campaign.refresh_from_db()
    if campaign.state == Campaign.State.FINISHED:
        print(f"(“{campaign.name}” has finished: see /campaigns/{campaign.pk}/)")
    else:
        print(
            f"(“{campaign.name}” is {campaign.get_state_display().lower()}: watch it at /campaigns/{campaign.pk}/)"
        )


def demo_subscription(*, created_by) -> None:
    """Every event type, to the simulator's inbox, so the delivery log has deliveries to show."""
    from django.conf import settings

    from voxdash.subscriptions.models import EVENT_TYPES, Subscription

    Subscription.objects.update_or_create(
        name=DEMO_SUBSCRIPTION_NAME,
        defaults={
            "url": f"{settings.VOX_API_BASE_URL}/_simulator/inbox",
            "event_types": list(EVENT_TYPES),
            "active": True,
            "created_by": created_by,
        },
    )


def demo_api_token(*, created_by) -> None:
    """The demo's API token (every scope) with its public value, made once per demo database."""
    from voxdash.api.models import ServiceToken
    from voxdash.api.scopes import SCOPES
    from voxdash.api.tokens import token_create, token_hash

    token = ServiceToken.objects.filter(name=DEMO_API_TOKEN_NAME).first()
    if token is None:
        token = token_create(name=DEMO_API_TOKEN_NAME, scopes=list(SCOPES), created_by=created_by).token
    prefix = DEMO_API_TOKEN.split("_")[1]
    ServiceToken.objects.filter(pk=token.pk).update(
        prefix=prefix, secret_hash=token_hash(DEMO_API_TOKEN), revoked_at=None, expires_at=None
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["seed"]:
        seed()
    else:
        main()
