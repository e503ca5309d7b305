from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from voxdash.lib.formatting import moment
from voxdash.lib.links import RowLinks

from .models import ServiceToken
from .scopes import SCOPES


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    state: str
    state_label: str
    created: object
    created_by: str
    expires: object
    last_used: object
    rate_per_minute: str  # a str: the template would localize an int (~10 µs)
    revoke_url: str


def token_rows() -> list[TokenRow]:
    """Every token, newest first, for the tokens page (a short list: one per integration)."""
    now = timezone.now()
    revoke = RowLinks("api_tokens:revoke", sample=987654321)
    rows = []
    for token in ServiceToken.objects.select_related("created_by"):
        state = token.state(now)
        rows.append(
            TokenRow(
                id=token.pk,
                name=token.name,
                prefix=token.prefix,
                scopes=[s for s in SCOPES if s in token.scopes],
                state=state,
                state_label=state.capitalize(),
                created=moment(token.created_at),
                created_by=token.created_by.get_username() if token.created_by else "—",
                expires=moment(token.expires_at) if token.expires_at else None,
                last_used=moment(token.last_used_at) if token.last_used_at else None,
                rate_per_minute=str(token.rate_per_minute),
                revoke_url=revoke.url(token.pk),
            )
        )
    return rows
