"""Where a page's time goes: a profile on the production stack, in this process. Not the result.

Starts what benchmarks/deployed.py starts (production settings, its own PostgreSQL database and
Redis db, the simulator as a process, the history benchmark's seeded mirror), then asks each PATH
through Django's test client here, signed in as --user, so that this process can look inside:

  - the median wall time and the mean CPU time of this process a request (the simulator's work,
    in its own process, is not in the CPU figure; the test client's own is, ~1 ms);
  - the median time in template rendering and in the Vox client (the Vox request, the floor's
    work included);
  - with --functions: cProfile's functions by their own time (profiled, so slower than real);
  - with --nodes: template nodes by their own time (each node timed: inflated by ~2x, but the
    order holds), and the blocks, loops, includes and partials that cost the most;
  - with --phases: the median wall time of each phase every page passes through (the whole
    handler, the view with its view middleware, the session's read, the person's row, the
    template, the Vox request): what is left of the handler is the other middleware.

Figures through gunicorn over HTTP are the other benchmarks' (history_page.py --server, …).

    .venv/bin/python benchmarks/page_profile.py /calls/ "/calls/?limit=100" [--user staff]
        [--requests 300] [--functions] [--nodes] [--phases]
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from deployed import USERS, Deployment  # noqa: E402 (no Django at import)
from history_page import seed_mirror  # noqa: E402

# The node kinds whose inclusive time is worth a line: the ones that hold other nodes.
CONTAINERS = {"ForNode", "IfNode", "IncludeNode", "PartialNode", "BlockNode", "WithNode"}


class Timings:
    """Wall time spent in a few functions during the measured requests, patched in place."""

    def __init__(self):
        self.spent: dict[str, list[float]] = defaultdict(list)

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)
        spent = self.spent[label]

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent.append((time.perf_counter() - started) * 1000)

        setattr(owner, name, timed)

    def clear(self) -> None:
        for spent in self.spent.values():
            spent.clear()  # in place: each patched function holds its own list

    def median(self, label: str) -> float:
        return statistics.median(self.spent[label]) if self.spent[label] else 0.0


class NodeTimes:
    """Each template node's own and inclusive time, by template, line and tag."""

    def __init__(self):
        self.own: dict[tuple, float] = defaultdict(float)
        self.inclusive: dict[tuple, float] = defaultdict(float)
        self.count: Counter = Counter()
        self._children = [0.0]

    def install(self) -> None:
        from django.template import base

        original = base.Node.render_annotated
        times = self

        def render_annotated(node, context):
            started = time.perf_counter()
            times._children.append(0.0)
            try:
                return original(node, context)
            finally:
                spent = time.perf_counter() - started
                children = times._children.pop()
                times._children[-1] += spent
                token = node.token
                key = (
                    node.origin.template_name if node.origin else "?",
                    token.lineno if token else 0,
                    type(node).__name__,
                    token.contents[:60] if token else "",
                )
                times.own[key] += spent - children
                times.inclusive[key] += spent
                times.count[key] += 1

        base.Node.render_annotated = render_annotated

    def clear(self) -> None:
        self.own.clear()
        self.inclusive.clear()
        self.count.clear()

    def report(self, requests: int) -> None:
        print("  template nodes by their own time (ms a request, times a request):")
        for key, spent in sorted(self.own.items(), key=lambda item: -item[1])[:25]:
            print(f"    {spent / requests * 1000:6.3f}  x{self.count[key] // requests:<4} {key}")
        print("  blocks, loops, includes and partials, inclusive (over 0.2 ms):")
        for key, spent in sorted(self.inclusive.items(), key=lambda item: -item[1]):
            if key[2] in CONTAINERS and spent / requests * 1000 > 0.2:
                print(f"    {spent / requests * 1000:6.3f}  x{self.count[key] // requests:<4} {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--user", default="viewer", choices=sorted(USERS))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--functions", action="store_true", help="cProfile's functions by own time")
    parser.add_argument(
        "--sort",
        default="tottime",
        choices=("tottime", "cumulative"),
        help="with --functions: by own time, or by time including what they call",
    )
    parser.add_argument("--nodes", action="store_true", help="template nodes by own time")
    parser.add_argument("--phases", action="store_true", help="wall time in each phase of a request")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/voxdash_bench_profile")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="a db of its own: flushed")
    args = parser.parse_args()

    with Deployment(
        database_url=args.database_url,
        redis_url=args.redis_url,
        seed=seed_mirror,
        users=tuple({"viewer", args.user}),  # the seed places calls as the viewer
        name="page-profile",
    ):
        # Imported here: the Deployment has set Django up with the production settings.
        import django.template.backends.django as template_backend
        from django.contrib.auth.models import User
        from django.core.handlers.base import BaseHandler
        from django.test import Client

        from voxdash.accounts import permissions, sessions
        from voxdash.vox.client import VoxClient

        timings = Timings()
        timings.wrap(template_backend.Template, "render", "render")
        timings.wrap(VoxClient, "_request", "vox")
        # --phases: what each phase is (the owner and name of the function timed), by its label.
        # The person's row is read with the request's first query, so it carries the
        # connection's health check (CONN_HEALTH_CHECKS' SELECT 1) too.
        phases = {
            "handler (all middleware and the view)": (BaseHandler, "get_response"),
            "the view and its view middleware": (BaseHandler, "_get_response"),
            "session read": (sessions.SessionStore, "load"),
            "person's row (and the health check)": (permissions, "user_by_id"),
        }
        if args.phases:
            for label, (owner, name) in phases.items():
                timings.wrap(owner, name, label)
        nodes = NodeTimes()
        if args.nodes:
            nodes.install()
        client = Client(HTTP_HOST="localhost")
        client.force_login(User.objects.get(username=args.user))
        print(
            "\nin process (a profile, not the result): production settings, PostgreSQL, Redis, the simulator"
        )
        for path in args.paths:
            for _ in range(30):  # warm: templates compiled, connections open, caches filled
                response = client.get(path)
            timings.clear()
            nodes.clear()
            walls, cpus = [], []
            profile = cProfile.Profile() if args.functions else None
            if profile:
                profile.enable()
            for _ in range(args.requests):
                started, cpu = time.perf_counter(), time.process_time()
                client.get(path)
                cpus.append((time.process_time() - cpu) * 1000)
                walls.append((time.perf_counter() - started) * 1000)
            if profile:
                profile.disable()
            print(
                f"{path}: {response.status_code}, {len(response.content):,} bytes; wall {statistics.median(walls):.2f}"
                f" ms, CPU {statistics.mean(cpus):.2f} ms, rendering {timings.median('render'):.2f} ms,"
                f" Vox client {timings.median('vox'):.2f} ms ({len(timings.spent['vox']) / args.requests:g} a request)"
            )
            if profile:
                print(
                    f"  functions by {'their own time' if args.sort == 'tottime' else 'time with what they call'} (profiled):"
                )
                stats = pstats.Stats(profile, stream=sys.stdout)
                stats.sort_stats(args.sort).print_stats(25 if args.sort == "tottime" else 60)
            if args.nodes:
                nodes.report(args.requests)
            if args.phases:
                print("  phases, median wall ms (times a request):")
                for label in (*phases, "render", "vox"):
                    if timings.spent[label]:
                        each = len(timings.spent[label]) / args.requests
                        print(f"    {label:<38} {timings.median(label):6.2f}  x{each:g}")


if __name__ == "__main__":
    main()
