"""(filled in by its part: see docs/api.md)."""

from ninja import Router

router = Router()
