"""A fake Vox API for tests and the demo: standard library only, no Django (see docs/architecture.md)."""

from . import keys
from .faults import Faults
from .server import Simulator
from .webhooks import signature_header

__all__ = ["Faults", "Simulator", "keys", "signature_header"]
