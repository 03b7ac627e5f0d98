"""Built-in job types, written against the public definition API only."""

from __future__ import annotations

from .demo import demo
from .fetch import fetch

BUILTIN = [demo, fetch]

__all__ = ["BUILTIN", "demo", "fetch"]
