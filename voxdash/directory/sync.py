"""Mirror the business's voice numbers and agents (services). Both lists are small and unpaginated:
each run reads both in full and hands them to the mirror, which upserts them and marks the ones Vox
no longer lists as vanished (`voxdash.mirror.directory`)."""

from __future__ import annotations

import logging

from voxdash.mirror.directory import directory_merge_listing
from voxdash.mirror.sync import SyncSummary, sync_run
from voxdash.vox import VoxClient, get_client
from voxdash.vox.budget import BACKGROUND

logger = logging.getLogger(__name__)


def directory_sync(*, client: VoxClient | None = None) -> SyncSummary:
    """Bring numbers and agents up to date. Raises SyncAlreadyRunning or a VoxError."""
    client = client or get_client().using(BACKGROUND)
    summary = SyncSummary(full=True)
    with sync_run("directory", summary):
        # Both reads before any write: a failure leaves the mirror as it was, never half-marked.
        numbers = client.list_numbers()
        summary.requests += 1
        agents = client.list_agents()
        summary.requests += 1
        summary.add(directory_merge_listing(numbers=numbers, agents=agents))
        summary.pages = summary.total_pages = 2
    logger.info("directory sync done: %s", summary)
    return summary
