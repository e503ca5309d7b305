"""How much time does voxdash add to a call history page?

Runs the Vox simulator (rate limit lifted) and, in one process, measures for the same list URLs:
  - bare:      a plain httpx GET of /v1/vox/calls from the simulator (the floor), and
  - dashboard: GET /calls/ through Django (session auth, middleware, form, client, template),
with the short-lived list cache bypassed so every dashboard page really asks the simulator.
Prints median and p95 of each and the difference. Target: under 10 ms added at the median.

    .venv/bin/python benchmarks/history_page.py [--requests 300]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # one line per request would drown the figures
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from vox_simulator import Simulator, keys  # noqa: E402
from voxdash.vox import reset_client  # noqa: E402

QUERIES = [
    {"page": "1"},
    {"page": "2", "limit": "50"},
    {"status": "completed"},
    {"direction": "inbound", "page": "2"},
    {"search": "ade"},
    {"limit": "100"},
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind")
    args = parser.parse_args()

    # Not setup_test_environment(): its instrumented template rendering (for response.context)
    # would be measured as if it were the dashboard's own cost.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DATABASES["default"]["NAME"] = ":memory:"
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="bench-pw-123")

    with Simulator(port=0, seed=1, calls=300, rate_limit=None, lifecycle_step_seconds=None) as sim:
        settings.VOX_API_BASE_URL = sim.base_url
        settings.VOX_API_KEY = keys.DEMO_KEY
        settings.VOX_LIST_CACHE_SECONDS = 0  # every dashboard page really asks the simulator
        settings.VOX_REQUESTS_PER_MINUTE = 0  # the simulator's rate limit is lifted too
        reset_client()
        client = Client()
        client.force_login(user)
        bare = httpx.Client(
            base_url=sim.base_url,
            headers={"Authorization": f"Bearer {keys.DEMO_KEY}", "User-Agent": "voxdash-benchmark/1"},
        )
        client.get("/calls/")  # warm up: templates compiled, connection status cached
        bare.get("/v1/vox/calls")

        bare_ms, dash_ms = [], []
        for i in range(args.requests):
            query = QUERIES[i % len(QUERIES)]
            started = time.perf_counter()
            response = bare.get("/v1/vox/calls", params=query)
            bare_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200

            started = time.perf_counter()
            response = client.get("/calls/", query)
            dash_ms.append((time.perf_counter() - started) * 1000)
            # Rows served from the API: no error banner, not the mirror.
            body = response.content
            assert response.status_code == 200 and b'class="call-row' in body, body[:300]
            assert b"data-error=" not in body and b'data-source="mirror"' not in body

    bare_median, dash_median = statistics.median(bare_ms), statistics.median(dash_ms)
    print(f"call history page, {args.requests} requests each, simulator with {300} calls")
    print(
        f"  bare httpx GET /v1/vox/calls   median {bare_median:6.2f} ms   p95 {percentile(bare_ms, 0.95):6.2f} ms"
    )
    print(
        f"  dashboard GET /calls/          median {dash_median:6.2f} ms   p95 {percentile(dash_ms, 0.95):6.2f} ms"
    )
    print(f"  added by the dashboard         median {dash_median - bare_median:6.2f} ms   (target < 10 ms)")


if __name__ == "__main__":
    main()
