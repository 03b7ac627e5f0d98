"""Built-in job types, written against the public definition API only."""

from __future__ import annotations

from .command import command, foreach, pipeline
from .demo import demo
from .fetch import fetch

BUILTIN = [demo, fetch, command, pipeline, foreach]

__all__ = ["BUILTIN", "command", "demo", "fetch", "foreach", "pipeline"]
