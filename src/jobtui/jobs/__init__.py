"""Built-in job types, written against the public definition API only."""

from __future__ import annotations

from .demo import demo

BUILTIN = [demo]

__all__ = ["BUILTIN", "demo"]
