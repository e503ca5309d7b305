"""The simulator's API keys and the scopes each one carries.

The key strings follow the vendor's format exactly (`clv_<env>_<sk|pk>_` + 32 alphanumerics) so a
client's format checks see realistic values. They are published test fixtures, not secrets.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

READ = "vox:read"
CALLS_READ = "vox:calls:read"
CALLS_CREATE = "vox:calls:create"
NUMBERS_READ = "vox:numbers:read"
AGENTS_READ = "vox:agents:read"

ALL_SCOPES: frozenset[str] = frozenset({READ, CALLS_READ, CALLS_CREATE, NUMBERS_READ, AGENTS_READ})
# `vox:read` is an umbrella for reads; creating calls always needs its own scope.
READ_SCOPES: frozenset[str] = frozenset({READ, CALLS_READ, NUMBERS_READ, AGENTS_READ})

KEY_PATTERN = re.compile(r"^clv_(test|live)_(sk|pk)_[A-Za-z0-9]{32}$")

DEMO_KEY = "clv_test_sk_oz3HgisVqUI68ilJkc6DIxgELJ5fRjcd"
LIVE_KEY = "clv_live_sk_rqLzCWc8X3aMG0be8d34l2eR9SOa54Ya"
READ_ONLY_KEY = "clv_test_sk_JgVHqwR71lWDIGZmC9YeSYg3Va1dD7qP"
NUMBERS_ONLY_KEY = "clv_test_sk_Wfme2pDg20q0E9UExoaYOpbXudH9oSn0"
EXPIRED_KEY = "clv_test_sk_PyWilYAWcXfkPfqZONbqQXUp56p3oCh1"
PUBLISHABLE_KEY = "clv_test_pk_e9kVE4wM9QihU3lodavmjwL7Ap8GLygR"
IP_BLOCKED_KEY = "clv_test_sk_HedWNsqjSSaRzq3FLO1aGWeQlucTErUR"
ORIGIN_BLOCKED_KEY = "clv_test_sk_yqC74H4PsIVXrLO3Ss9eJUjieMlxoMVp"

DEMO_WEBHOOK_SECRET = "whsec_zGZdfbyhDiMv3dflSrBk84ZcYjYCvSaH"
# The demo's identity provider's client secret for voxdash (vox_simulator/demo.py): demo only.
DEMO_OIDC_CLIENT_SECRET = "demo-oidc-secret-hBq3VjT9xWc2LrN8"

# Why a key that is recognised is still refused; None means it is usable.
EXPIRED = "expired"
IP_BLOCKED = "ip_blocked"
ORIGIN_BLOCKED = "origin_blocked"
PUBLISHABLE = "publishable"

_KEY_ID_NAMESPACE = uuid.UUID("6f1d3c3e-5b7a-4f43-9a55-0f6c2b8a9d21")


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str
    environment: str  # "test" | "live"
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    refusal: str | None = None

    @property
    def key_id(self) -> str:
        return str(uuid.uuid5(_KEY_ID_NAMESPACE, self.key))

    def grants(self, scope: str) -> bool:
        if scope in self.scopes:
            return True
        return scope in READ_SCOPES and READ in self.scopes


def environment_of(key: str) -> str:
    return "live" if key.startswith("clv_live_") else "test"


def default_keys() -> dict[str, ApiKey]:
    """A fresh table of the documented keys (each simulator owns its copy, so add_key is local)."""
    table = [
        ApiKey(DEMO_KEY, "test"),
        ApiKey(LIVE_KEY, "live"),
        ApiKey(READ_ONLY_KEY, "test", frozenset({READ})),
        ApiKey(NUMBERS_ONLY_KEY, "test", frozenset({NUMBERS_READ})),
        ApiKey(EXPIRED_KEY, "test", refusal=EXPIRED),
        ApiKey(PUBLISHABLE_KEY, "test", refusal=PUBLISHABLE),
        ApiKey(IP_BLOCKED_KEY, "test", refusal=IP_BLOCKED),
        ApiKey(ORIGIN_BLOCKED_KEY, "test", refusal=ORIGIN_BLOCKED),
    ]
    return {k.key: k for k in table}
