"""How many webhook deliveries per second does the receiver accept?

Starts the real receiver under gunicorn (production settings, DJANGO_DEBUG=0) on a fresh database
and broker, fires distinct signed deliveries (shaped like `vox.call.completed`) from a thread pool
with httpx, and prints accepted deliveries per second and the latency of each. Every delivery does
what it does in production: verify the signature, store the event, enqueue its processing task.
No worker runs, so the figure is the receiver's alone. Target: more than 500 deliveries a second.

    .venv/bin/python benchmarks/webhook_ingest.py [--deliveries 5000] [--threads 6] [--workers 3]
        [--worker-threads 1] [--database-url postgres://postgres@127.0.0.1:5432/voxdash_bench]
        [--broker-url redis://127.0.0.1:6379/13] [--wrk SECONDS]

With --wrk, the load comes from `wrk` (Debian's package, written in C) replaying pre-signed
deliveries for that many seconds instead of Python threads: on a 2-core machine the Python
senders take CPU the server needs, so this figure is closer to the receiver's own capacity.

Defaults: SQLite (WAL) and the filesystem broker in a temporary folder, which is what `make demo`
runs on. A PostgreSQL database given with --database-url must exist; it is migrated, and the events
the run stores are deleted afterwards.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_benchmark_only"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing answered on port {port}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run_wrk(url: str, seconds: float, sign, folder: str) -> tuple[float, int, int]:
    """(requests per second, responses not 2xx, requests sent) from wrk replaying distinct,
    freshly signed deliveries (each thread its own slice, so no event id is sent twice)."""
    threads, per_thread = 2, 40_000
    now = int(time.time())
    # One delivery a line (signature, event id, body): a Lua chunk with 80,000 literals would be
    # over LuaJIT's limit of constants, so the script reads this file instead.
    data = Path(folder) / "deliveries.tsv"
    with open(data, "w") as out:
        for n in range(threads * per_thread):
            event_id = f"evt_bench_wrk_{n:07d}_{uuid.uuid4().hex[:8]}"
            body = json.dumps(
                {
                    "id": event_id,
                    "type": "vox.call.completed",
                    "created": "2026-11-24T09:00:00.000Z",
                    "environment": "test",
                    "data": {
                        "callId": f"call_bench_{n % 500}",
                        "status": "completed",
                        "direction": "outbound",
                        "durationSeconds": 42,
                        "recordingUrl": None,
                    },
                },
                separators=(",", ":"),
            )
            out.write(f"t={now},v1={sign(SECRET, body.encode(), now)}\t{event_id}\t{body}\n")
    script = Path(folder) / "deliveries.lua"
    script.write_text(WRK_SCRIPT.replace("DATA", str(data)).replace("PER_THREAD", str(per_thread)))
    output = subprocess.run(
        ["wrk", "-t", str(threads), "-c", "8", "-d", f"{seconds:.0f}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "first refusal" in output:
        print(output.split("first refusal")[1].splitlines()[0][:300])
    rate = float(output.split("Requests/sec:")[1].split()[0])
    non_2xx = int(output.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in output else 0
    total = int(output.split(" requests in ")[0].split()[-1])
    if total > threads * per_thread:
        raise SystemExit("wrk ran out of distinct deliveries: use fewer seconds")
    return rate, non_2xx, total


WRK_SCRIPT = r"""
local counter = 0
function setup(thread) thread:set("tid", counter); counter = counter + 1 end
function init(args)
  deliveries = {}
  local n, first, last = 0, tid * PER_THREAD + 1, (tid + 1) * PER_THREAD
  for line in io.lines("DATA") do
    n = n + 1
    if n >= first and n <= last then deliveries[#deliveries + 1] = line end
  end
  i = 0
end
shown = false
function response(status, headers, body)
  if status ~= 200 and not shown then io.write("first refusal: ", status, " ", body, "\n"); shown = true end
end
function request()
  i = i + 1
  local signature, id, body = deliveries[i]:match("([^\t]+)\t([^\t]+)\t(.*)")
  return wrk.format("POST", nil, {["Cloove-Signature"] = signature, ["Cloove-Webhook-Id"] = id,
    ["Cloove-Webhook-Event"] = "vox.call.completed", ["Content-Type"] = "application/json"}, body)
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=6, help="concurrent senders")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument(
        "--worker-threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (>1: gthread, which keeps connections alive)",
    )
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    parser.add_argument("--broker-url", default="filesystem://", help="default: the embedded broker")
    parser.add_argument("--wrk", type=float, default=0, help="seconds of load from wrk instead of httpx")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="voxdash-bench-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="voxdash.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="benchmark-only",
        VOX_API_KEY="clv_test_sk_benchmark_only_not_used_here_",
        VOX_WEBHOOK_SECRET=SECRET,
        VOXDASH_VAR_DIR=var_dir,
        DATABASE_URL=args.database_url or f"sqlite:///{var_dir}/bench.sqlite3",
        CELERY_BROKER_URL=args.broker_url,
        LOG_LEVEL="WARNING",
        DJANGO_SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback; production redirects to HTTPS
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import httpx
    from django.core.management import call_command

    from voxdash.webhooks.models import WebhookEvent
    from voxdash.webhooks.signature import sign

    call_command("migrate", verbosity=0)
    WebhookEvent.objects.filter(event_id__startswith="evt_bench_").delete()

    port = free_port()
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "voxdash.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.worker_threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}/webhooks/vox/"
    local = threading.local()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def deliver(n: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30, headers={"User-Agent": "Cloove-Webhooks/1.0"})
        event = {
            "id": f"evt_bench_{uuid.uuid4().hex[:20]}",
            "type": "vox.call.completed",
            "created": "2026-11-24T09:00:00.000Z",
            "environment": "test",
            "data": {
                "callId": f"call_bench_{n % 500}",
                "status": "completed",
                "direction": "outbound",
                "durationSeconds": 42,
                "recordingUrl": None,
            },
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        t = int(time.time())
        headers = {
            "Cloove-Signature": f"t={t},v1={sign(SECRET, body, t)}",
            "Cloove-Webhook-Id": event["id"],
            "Cloove-Webhook-Event": event["type"],
            "Content-Type": "application/json",
        }
        start = time.perf_counter()
        response = client.post(url, content=body, headers=headers)
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    if args.wrk:
        try:
            wait_for_port(port, gunicorn)
            with ThreadPoolExecutor(args.threads) as pool:  # warm-up
                list(pool.map(deliver, range(200)))
            rate, non_2xx, total = run_wrk(url, args.wrk, sign, var_dir)
        finally:
            gunicorn.terminate()
            gunicorn.wait(10)
        stored = WebhookEvent.objects.filter(event_id__startswith="evt_bench_").count()
        print(
            f"setup: gunicorn --workers {args.workers} (sync), {django.db.connection.vendor}, broker "
            f"{args.broker_url}, wrk -t2 -c8 for {args.wrk:.0f} s, {os.cpu_count()} CPUs"
        )
        print(f"deliveries: {total} sent, {non_2xx} not 2xx, {stored} stored (incl. 200 warm-up)")
        print(f"accepted per second: {rate:.0f}")
        if args.database_url:
            WebhookEvent.objects.filter(event_id__startswith="evt_bench_").delete()
        shutil.rmtree(var_dir, ignore_errors=True)
        if non_2xx or stored < total:
            sys.exit("not every delivery was accepted and stored: the figure above does not count")
        return

    try:
        wait_for_port(port, gunicorn)
        with ThreadPoolExecutor(args.threads) as pool:  # warm-up: imports, connections
            list(pool.map(deliver, range(min(200, args.deliveries))))
        latencies.clear()
        statuses.clear()
        start = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(deliver, range(args.deliveries)))
        wall = time.perf_counter() - start
    finally:
        gunicorn.terminate()
        gunicorn.wait(10)

    accepted = statuses.get(200, 0)
    stored = WebhookEvent.objects.filter(event_id__startswith="evt_bench_").count()
    database = django.db.connection.vendor
    if args.database_url:
        WebhookEvent.objects.filter(event_id__startswith="evt_bench_").delete()
    if not args.broker_url.startswith("filesystem"):
        from voxdash.celery import app

        app.control.purge()  # nobody will process these tasks
    shutil.rmtree(var_dir, ignore_errors=True)
    print(
        f"setup: gunicorn --workers {args.workers} (sync), {database}, broker {args.broker_url}, "
        f"{args.threads} sender threads, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(
        f"deliveries: {args.deliveries} sent, {accepted} accepted (200), statuses {statuses}, "
        f"{stored} stored (incl. {min(200, args.deliveries)} warm-up)"
    )
    print(
        f"latency: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms"
    )
    print(f"accepted per second: {accepted / wall:.0f}")
    if accepted < args.deliveries:
        sys.exit("not every delivery was accepted: the figure above does not measure the receiver")


if __name__ == "__main__":
    main()
