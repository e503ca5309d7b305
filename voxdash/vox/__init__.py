"""The Vox API client. Views call `get_client()`; nothing else in voxdash builds Vox URLs."""

from __future__ import annotations

import threading

from . import deadline, errors, types
from .budget import budget_from_settings
from .client import VoxClient

__all__ = ["VoxClient", "deadline", "errors", "types", "get_client", "reset_client"]

_client: VoxClient | None = None
_lock = threading.Lock()


def get_client() -> VoxClient:
    """The process's one client (one connection pool), built from settings on first use."""
    global _client
    client = _client
    if client is not None:
        return client
    with _lock:
        if _client is None:
            from django.conf import settings  # the only Django dependency of this package

            _client = VoxClient(
                settings.VOX_API_BASE_URL,
                settings.VOX_API_KEY,
                connect_timeout=settings.VOX_CONNECT_TIMEOUT,
                read_timeout=settings.VOX_READ_TIMEOUT,
                max_retries=settings.VOX_MAX_RETRIES,
                max_retry_wait=settings.VOX_MAX_RETRY_WAIT,
                budget=budget_from_settings(),
            )
        return _client


def reset_client() -> None:
    """Close and forget the client, so the next `get_client()` reads settings again."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()
