"""`manage.py vox health|numbers|agents|calls`: what the configured key sees, for operators."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from voxdash.vox import errors, get_client
from voxdash.vox.types import CallPage


def _plain(obj: Any) -> Any:
    """Dataclasses as dicts of their typed fields (the API's own dict stays out: use the API for that)."""
    if isinstance(obj, CallPage):
        return {"calls": [_plain(c) for c in obj.calls], "meta": _plain(obj.meta)}
    if isinstance(obj, list):
        return [_plain(item) for item in obj]
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name != "raw"}


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


class Command(BaseCommand):
    help = "Ask the Vox API what the configured key (VOX_API_KEY) sees."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["health", "numbers", "agents", "calls"])
        parser.add_argument("--status", help="calls: only this status, e.g. completed")
        parser.add_argument("--direction", help="calls: inbound or outbound")
        parser.add_argument("--search", help="calls: customer name or phone")
        parser.add_argument("--page", type=int, default=1, help="calls: page number (default 1)")
        parser.add_argument(
            "--limit", type=int, default=20, help="calls: rows per page (default 20, max 100)"
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, what: str, **options):
        client = get_client()
        try:
            if what == "health":
                result: Any = client.health()
            elif what == "numbers":
                result = client.list_numbers()
            elif what == "agents":
                result = client.list_agents()
            else:
                result = client.list_calls(
                    status=options["status"],
                    direction=options["direction"],
                    search=options["search"],
                    page=options["page"],
                    limit=options["limit"],
                )
        except errors.VoxError as exc:
            raise CommandError(f"{exc.message.rstrip('. ')}. {exc.hint}") from exc
        except ValueError as exc:  # page/limit below 1
            raise CommandError(str(exc)) from exc

        if options["json"]:
            self.stdout.write(json.dumps(_plain(result), default=_default, indent=2))
            return
        getattr(self, f"_print_{what}")(result, client)

    def _print_health(self, health, client) -> None:
        rows = [
            ("Environment", health.environment),
            ("Business", health.business_id),
            ("Key id", health.key_id),
            ("Key", client.key_hint),
            ("API", client.base_url),
            ("Latency", f"{health.latency_ms:.0f} ms"),
        ]
        for label, value in rows:
            self.stdout.write(f"{label:<12} {value}")
        if health.is_test:
            self.stdout.write(
                self.style.WARNING(
                    "TEST MODE: this is a test key; it sees test data and places no real calls."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("LIVE: this key places real calls."))

    def _print_numbers(self, numbers, client) -> None:
        self._table(
            ["ID", "NUMBER", "COUNTRY", "VOICE", "SMS", "STATUS", "PROVIDER", "CAN CALL"],
            [
                [
                    n.id,
                    n.phone_number,
                    n.country,
                    n.voice_capable,
                    n.sms_capable,
                    n.status,
                    n.provider,
                    n.can_place_calls,
                ]
                for n in numbers
            ],
        )

    def _print_agents(self, agents, client) -> None:
        self._table(
            ["ID", "NAME", "LANGUAGE", "VOICE", "STATUS", "DEFAULT"],
            [[a.id, a.name, a.language, a.voice_id, a.status, a.is_default] for a in agents],
        )

    def _print_calls(self, page, client) -> None:
        self._table(
            ["CREATED (UTC)", "DIRECTION", "STATUS", "PHONE", "NAME", "SECONDS", "ID"],
            [
                [
                    c.created_at,
                    c.direction,
                    c.status,
                    c.customer_phone,
                    c.customer_name,
                    c.duration_seconds,
                    c.id,
                ]
                for c in page.calls
            ],
        )
        meta = page.meta
        total = "?" if meta.total is None else meta.total
        pages = "?" if meta.total_pages is None else meta.total_pages
        more = "; more pages follow" if meta.has_more else ""
        self.stdout.write(f"page {meta.page} of {pages}, {total} calls in all{more}")

    def _table(self, header: list[str], rows: list[list[Any]]) -> None:
        cells = [header] + [[_cell(v) for v in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        for row in cells:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if not rows:
            self.stdout.write("(none)")
