"""Command-line options of `python -m vox_simulator` (also started so by `make demo`)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from . import keys
from .server import Simulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calls", type=int, default=300, help="seeded call history size")
    parser.add_argument("--rate-limit", type=int, default=120, help="requests per minute per key")
    parser.add_argument(
        "--rate-limit-window", type=float, default=60.0, help="seconds of the rate limit's sliding window"
    )
    parser.add_argument("--no-rate-limit", action="store_true")
    parser.add_argument(
        "--lifecycle-step-seconds",
        type=float,
        default=2.0,
        help="seconds between a placed call's lifecycle steps",
    )
    parser.add_argument(
        "--manual-lifecycle", action="store_true", help="advance calls only through POST /_simulator/advance"
    )
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default=None, help=f"default {keys.DEMO_WEBHOOK_SECRET}")
    parser.add_argument("--webhook-duplicate-rate", type=float, default=0.0)
    parser.add_argument(
        "--post-id-differs",
        action="store_true",
        help="the POST's data.id differs from the id in the call list",
    )
    parser.add_argument(
        "--allow-default-user-agents",
        action="store_true",
        help="do not 403 python-httpx/python-requests/curl User-Agents",
    )


def simulator_from_options(options: dict[str, Any]) -> Simulator:
    return Simulator(
        host=options["host"],
        port=options["port"],
        seed=options["seed"],
        calls=options["calls"],
        rate_limit=None if options["no_rate_limit"] else options["rate_limit"],
        rate_limit_window_seconds=options.get("rate_limit_window", 60.0),
        lifecycle_step_seconds=None if options["manual_lifecycle"] else options["lifecycle_step_seconds"],
        webhook_url=options["webhook_url"],
        webhook_secret=options["webhook_secret"],
        post_id_matches_list=not options["post_id_differs"],
        reject_default_user_agents=not options["allow_default_user_agents"],
        webhook_duplicate_rate=options["webhook_duplicate_rate"],
    )


def run(options: dict[str, Any]) -> None:
    """Start, announce, and serve until Ctrl-C or SIGTERM."""
    sim = simulator_from_options(options).start()
    # SIGTERM (a Makefile or supervisor stopping us) should shut down as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sim.stopping.set())
    say(f"Vox simulator listening on {sim.base_url}")
    say(f"Demo key (test, all scopes): {keys.DEMO_KEY}")
    say(f"Read-only key: {keys.READ_ONLY_KEY}")
    secret = f" (secret {sim.webhook_secret})" if sim.webhook_url else ""
    say(f"Webhooks: {sim.webhook_url or 'off'}{secret}")
    say(f"Control API: {sim.base_url}/_simulator/state")
    try:
        while not sim.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        say("Vox simulator stopped")


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vox_simulator", description="Run the Vox simulator")
    add_arguments(parser)
    run(vars(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
