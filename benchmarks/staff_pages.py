"""The staff pages (alerts, the audit log) and the account and error pages against the history
page's budget, as deployed (benchmarks/deployed.py).

Production settings, gunicorn (2 workers), PostgreSQL and Redis, over HTTP, signed in as staff
(the history page as a Viewer). The audit log holds --entries entries (100,000 by default: a year
of a busy team), the alerts page --alerts alerts over the built-in rules, each with two notices.
Every round measures each kind once, in a shuffled order, so all of them meet the same machine:

  bare            GET /v1/vox/calls from the simulator (the floor: the history page's own Vox request)
  history         GET /calls/ (asks the simulator: the page whose budget the others must meet)
  alerts          GET /alerts/ (open alerts, rules, channels, the history's first page)
  alerts-filtered GET /alerts/?state=resolved&page=20
  audit           GET /audit/ (the newest 50; "10,000+ entries": the count stops at the cap)
  audit-action    GET /audit/?action=call_placed
  audit-user      GET /audit/?user=<one of 20 users>
  audit-days      GET /audit/?date_from=…&date_to=… (a week, 60 days back)
  audit-deep      GET /audit/?page=1000 (49,950 entries skipped)
  login           GET /accounts/login/, signed out, with the OpenID Connect button (no provider asked)
  password        GET /accounts/password/ (the password change form)
  two-factor      GET /accounts/two-factor/ (a local account's two-factor page)
  not-found       GET /calls/no-such-page/ (the 404 page, signed in: what any page pays)
  api-tokens      GET /api/tokens/ (the tokens page, 20 tokens)
  subscriptions   GET /subscriptions/1/ (a subscription with 2,000 deliveries in its log)
  api-token       GET /api/v1/token (voxdash's own API: the token checked, its rate counted)
  api-calls       GET /api/v1/calls?limit=20 (the mirror's newest calls, 2,000 mirrored)
  api-placed      GET /api/v1/placed-calls?limit=20

Prints the floor, each kind's median and p95, what each adds to the floor, and met / NOT met
against issue 15's budget: < 6 ms added at the median, < 12 ms at p95. The staff pages ask Vox
nothing, so what they add to the floor is their time less one plain HTTP request.
--before PATH measures every page also on a gunicorn from another checkout (`git worktree add
PATH <commit>`), interleaved in the same rounds, on the same database, and prints after − before.

    .venv/bin/python benchmarks/staff_pages.py [--rounds 200] [--entries 100000] [--alerts 2000]
        [--before PATH]
"""

import argparse
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

import httpx
from deployed import Budget, Deployment, api, bare, page, report

# What each page may add to the floor (issue 15): milliseconds at the median and at p95.
BUDGET = Budget(6, 12)


# The API's token in the benchmark's own database (set by api_seed, like the demo's).
API_TOKEN = "vxd_bench000_thisIsTheBenchmarksTokenNeverUseItAnywhereReal00"


def api_seed(*, now, owner) -> None:
    """Twenty tokens, one with API_TOKEN's value, 2,000 mirrored calls and a subscription with 2,000
    deliveries: what the API's reads and the new staff pages show."""
    from voxdash.api.models import ServiceToken
    from voxdash.api.scopes import SCOPES
    from voxdash.api.tokens import token_create, token_hash
    from voxdash.calls.models import Call
    from voxdash.subscriptions.models import Event, EventDelivery, Subscription

    made = [
        token_create(name=f"system {n}", scopes=list(SCOPES), created_by=owner, rate_per_minute=100_000)
        for n in range(20)
    ]
    ServiceToken.objects.filter(pk=made[0].token.pk).update(
        prefix="bench000", secret_hash=token_hash(API_TOKEN)
    )
    Call.objects.bulk_create(
        Call(
            vox_id=f"call_bench_{n}", direction="outbound", status="completed", customer_phone=f"+23480{n:08d}",
            customer_name=f"Customer {n}", duration_seconds=60, created_at=now - timedelta(minutes=n),
        )
        for n in range(2000)
    )  # fmt: skip
    subscription = Subscription.objects.create(
        name="CRM", url="http://127.0.0.1:9/", event_types=["call.status_changed"]
    )
    events = Event.objects.bulk_create(Event(type="call.status_changed", data={"n": n}) for n in range(2000))
    EventDelivery.objects.bulk_create(
        EventDelivery(event=e, subscription=subscription, state="delivered", attempts=1, last_status=200)
        for e in events
    )


def seed(entries: int, alert_count: int) -> None:
    """The audit log and the alerts, written straight into the tables (bulk, like years of use).
    Run by the harness with Django set up against the benchmark's database (hence the imports here)."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from voxdash.alerts.models import Alert, AlertChannel, AlertDelivery, AlertRule
    from voxdash.audit.models import AuditEntry

    rng = random.Random(1)
    now = timezone.now()
    users = [User.objects.create_user(f"user-{n}") for n in range(20)]
    api_seed(now=now, owner=users[0])
    actions = [a for a, _ in AuditEntry.Action.choices]
    batch = []
    for n in range(entries):
        user = rng.choice(users)
        batch.append(
            AuditEntry(
                at=now - timedelta(seconds=n * 300),  # every five minutes, back about a year
                user=user,
                username=user.username,
                remote_addr=f"10.0.{n % 250}.{n % 200}",
                action=rng.choice(actions),
                object_type="placed call",
                object_id=str(n),
                object_label=f"+23480{n:08d} by {user.username}",
                object_url=f"/calls/placed/{n}/",
                detail={"filters": {"status": "failed"}} if n % 7 == 0 else {},
            )
        )
        if len(batch) == 5000:
            AuditEntry.objects.bulk_create(batch)
            batch = []
    AuditEntry.objects.bulk_create(batch)
    channels = [
        AlertChannel.objects.create(
            name=f"channel {n}", kind=AlertChannel.Kind.FILE, url=f"file:///tmp/{n}.log"
        )
        for n in range(3)
    ]
    rules = list(AlertRule.objects.all())
    alerts = Alert.objects.bulk_create(
        Alert(
            rule=rules[n % len(rules)],
            subject=str(n) if n >= len(rules) else "",
            opened_at=now - timedelta(hours=n),
            resolved_at=None if n < len(rules) else now - timedelta(hours=n) + timedelta(minutes=30),
            summary=f"Something went wrong ({n})",
            link="/calls/",
            last_notified_at=now - timedelta(hours=n),
            notices=2,
        )
        for n in range(alert_count)
    )
    AlertDelivery.objects.bulk_create(
        AlertDelivery(
            alert=alert,
            channel=channel,
            channel_name=channel.name,
            notice=notice,
            title="[voxdash] Alert",
            body="…",
            created_at=alert.opened_at,
            next_attempt_at=alert.opened_at,
            state=AlertDelivery.State.DELIVERED,
            attempts=1,
            delivered_at=alert.opened_at,
        )
        for alert in alerts
        for channel, notice in ((channels[0], "fired"), (channels[1], "resolved"))
    )


def has(text: str):
    """A check that the page shows `text` (a page that answers 200 without its rows is wrong too)."""

    def check(response: httpx.Response) -> str:
        return "" if text in response.text else f"{text!r} is not on the page"

    return check


ISSUE_16 = {"api-tokens", "subscriptions", "api-token", "api-calls", "api-placed"}


def page_kinds(args: argparse.Namespace, server: str, suffix: str) -> dict:
    """Every page's kind on one gunicorn (`suffix` tells the servers apart when there are two)."""
    week_from = time.strftime("%Y-%m-%d", time.localtime(time.time() - 60 * 86400))
    week_to = time.strftime("%Y-%m-%d", time.localtime(time.time() - 53 * 86400))
    audit_rows = has('class="audit-row')
    # Past 10,000 entries the count stops at the cap and says so (a checkout from before issue 15
    # counts them all).
    capped = args.entries > 10_000 and server != "before"
    kinds = {
        "history": page("/calls/", server=server),
        "alerts": page("/alerts/", user="staff", server=server, check=has('class="history-alert"')),
        "alerts-filtered": page(
            "/alerts/?state=resolved&page=20", user="staff", server=server, check=has("page 20 of")
        ),
        "audit": page(
            "/audit/", user="staff", server=server, check=has("10,000+ entries" if capped else "entr")
        ),
        "audit-action": page("/audit/?action=call_placed", user="staff", server=server, check=audit_rows),
        "audit-user": page("/audit/?user=user-7", user="staff", server=server, check=audit_rows),
        "audit-days": page(
            f"/audit/?date_from={week_from}&date_to={week_to}", user="staff", server=server, check=audit_rows
        ),
        "audit-deep": page("/audit/?page=1000", user="staff", server=server, check=audit_rows),
        "login": page("/accounts/login/", user=None, server=server),
        "password": page("/accounts/password/", user="staff", server=server),
        "two-factor": page("/accounts/two-factor/", user="staff", server=server),
        "not-found": page("/calls/no-such-page/", user="staff", server=server, status=404),
        "api-tokens": page("/api/tokens/", user="staff", server=server, check=has("system 19")),
        "subscriptions": page("/subscriptions/1/", user="staff", server=server, check=has("Delivered")),
        "api-token": api("/api/v1/token", token=API_TOKEN, server=server, check=has("system 0")),
        "api-calls": api("/api/v1/calls?limit=20", token=API_TOKEN, server=server, check=has("call_bench_0")),
        "api-placed": api("/api/v1/placed-calls?limit=20", token=API_TOKEN, server=server),
    }
    if server == "before":  # a checkout from before issue 16 has no API, tokens or subscriptions
        kinds = {name: kind for name, kind in kinds.items() if name not in ISSUE_16}
    return {f"{name}{suffix}": kind for name, kind in kinds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="requests of each kind")
    parser.add_argument("--entries", type=int, default=100_000, help="audit entries")
    parser.add_argument("--alerts", type=int, default=2_000, help="alerts (each with two notices)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/voxdash_bench_staff")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="a db of its own: flushed")
    parser.add_argument("--before", help="also a gunicorn from this checkout (a git worktree), interleaved")
    args = parser.parse_args()

    servers, checkouts = {"web": {}}, {}
    if args.before:
        servers, checkouts = {"after": {}, "before": {}}, {"before": Path(args.before)}
    kinds = {"bare": bare("/v1/vox/calls")}
    for server in servers:
        kinds |= page_kinds(args, server, f"@{server}" if args.before else "")
    with Deployment(
        database_url=args.database_url,
        redis_url=args.redis_url,
        seed=lambda: seed(args.entries, args.alerts),
        users=("viewer", "staff"),
        servers=servers,
        checkouts=checkouts,
        env={
            # The login page shows the button; rendering it asks the provider nothing.
            "VOXDASH_OIDC_ISSUER": "https://login.example.invalid",
            "VOXDASH_OIDC_CLIENT_ID": "voxdash",
            "VOXDASH_OIDC_CLIENT_SECRET": "benchmark-only",
        },
        name="staff-pages",
    ) as run:
        times = run.measure(kinds, rounds=args.rounds)
    report(
        times,
        floor="bare",
        budgets={kind: BUDGET for kind in kinds if kind != "bare"},
        labels={"bare": "bare GET /v1/vox/calls from the simulator"},
    )
    if args.before:
        print(f"\nafter (this tree) − before ({args.before}), medians:")
        for name in page_kinds(args, "before", ""):
            after, before = (
                statistics.median(times[f"{name}@after"]),
                statistics.median(times[f"{name}@before"]),
            )
            print(f"  {name:16} {after - before:+7.2f} ms ({(after - before) / before:+.0%})")


if __name__ == "__main__":
    main()
