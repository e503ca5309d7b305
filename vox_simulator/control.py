"""`/_simulator/*`: the unauthenticated control API (plain JSON in and out, no envelope).

Lets a separate process (the demo, a browser test) steer a simulator it did not start in-process.
"""

from __future__ import annotations

import html
import json
import time
from typing import TYPE_CHECKING

from . import keys
from .http import Request, Response, error

if TYPE_CHECKING:
    from .server import Simulator


def handle(sim: Simulator, request: Request, path: str) -> Response:
    route = path.removeprefix("/_simulator").strip("/")
    method = request.method
    if route == "inbox" and method == "POST":  # any body: it is kept as received
        sim.inbox.append(
            {
                "received_at": time.time(),
                "headers": {name.lower(): value for name, value in request.headers.items()},
                "body": request.body.decode("utf-8", "replace"),
            }
        )
        return Response(204, b"", [])
    try:
        body = json.loads(request.body) if request.body.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
    except ValueError as exc:
        return error(400, "bad_request", f"Invalid JSON: {exc}")

    try:
        if route == "state" and method == "GET":
            return Response.json(200, sim.state())
        if route == "deliveries" and method == "GET":
            return Response.json(200, sim.deliveries())
        if route == "requests" and method == "GET":
            # [[unix time, method, path, status], ...] in arrival order
            return Response.json(200, [list(entry) for entry in list(sim.request_log)])
        if route == "events" and method == "GET":
            return Response.json(200, sim.events())
        if route == "inbox" and method == "GET":
            # [{"received_at", "headers" (lower-cased), "body"}, ...] in arrival order
            return Response.json(200, list(sim.inbox))
        if route == "reset" and method == "POST":
            sim.reset()
            return Response.json(200, {"ok": True})
        if route == "faults" and method == "POST":
            sim.faults.apply(body)
            return Response.json(200, sim.faults.snapshot())
        if route == "advance" and method == "POST":
            call_id = body.get("call_id") or body.get("callId")
            try:
                events = sim.advance(call_id)
            except KeyError:
                return error(404, "not_found", f"No call {call_id}")
            return Response.json(200, {"events": events})
        if route == "outcomes" and method == "POST":
            # {"+234…": ["no_answer", "completed"], …}
            sim.plan_outcomes(body)
            return Response.json(200, {"ok": True})
        if route == "webhook" and method == "POST":
            sim.set_webhook(body.get("url"), body.get("secret"))
            return Response.json(200, {"url": sim.webhook_url})
        if route == "keys" and method == "POST":
            sim.add_key(body["key"], scopes=body.get("scopes"), environment=body.get("environment"))
            return Response.json(200, {"ok": True})
        if route.startswith("agents/") and method == "POST":
            agent = sim.update_agent(route.removeprefix("agents/"), body)
            if agent is None:
                return error(404, "not_found", "No such agent")
            return Response.json(200, agent)
    except (KeyError, TypeError, ValueError) as exc:
        return error(400, "bad_request", f"{type(exc).__name__}: {exc}")
    known = {
        "state",
        "deliveries",
        "requests",
        "events",
        "inbox",
        "reset",
        "faults",
        "advance",
        "outcomes",
        "webhook",
        "keys",
    }
    if route in known or route.startswith("agents/"):
        return error(405, "method_not_allowed", f"Method {method} not allowed on {path}")
    return error(404, "not_found", f"Cannot {method} {path}")


def index(sim: Simulator) -> Response:
    """`GET /`: a human's landing page (the demo links here), listing the keys and endpoints."""
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code></td><td><code>{html.escape(value)}</code></td></tr>"
        for name, value in (
            ("DEMO_KEY", keys.DEMO_KEY),
            ("LIVE_KEY", keys.LIVE_KEY),
            ("READ_ONLY_KEY", keys.READ_ONLY_KEY),
            ("NUMBERS_ONLY_KEY", keys.NUMBERS_ONLY_KEY),
            ("EXPIRED_KEY", keys.EXPIRED_KEY),
            ("PUBLISHABLE_KEY", keys.PUBLISHABLE_KEY),
            ("IP_BLOCKED_KEY", keys.IP_BLOCKED_KEY),
            ("ORIGIN_BLOCKED_KEY", keys.ORIGIN_BLOCKED_KEY),
        )
    )
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Vox simulator</title></head>
<body><h1>Vox simulator</h1>
<p>A stand-in for <code>https://api.clooveai.com</code>. API paths: <code>/v1/vox/health</code>,
<code>/v1/vox/calls</code> (GET, POST), <code>/v1/vox/numbers</code>, <code>/v1/vox/agents</code>,
with <code>Authorization: Bearer &lt;key&gt;</code> and a real User-Agent.</p>
<p>Webhooks: {html.escape(sim.webhook_url or "off")}.
Control: <a href="/_simulator/state">/_simulator/state</a>.
What voxdash's event subscriptions sent here: <a href="/_simulator/inbox">/_simulator/inbox</a>.</p>
<table><tr><th>key</th><th>value</th></tr>{rows}</table></body></html>
"""
    return Response(200, page.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")])
