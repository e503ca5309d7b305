"""Evaluating the rules (beat, every VOXDASH_ALERTS_EVERY seconds): open, remind, resolve.

Filled in by the checks part: `alerts_evaluate(*, now=None) -> EvaluationSummary`.
"""

from __future__ import annotations

from datetime import datetime


def alerts_evaluate(*, now: datetime | None = None):
    raise NotImplementedError
