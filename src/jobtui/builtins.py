"""The registry of job types a process runs: the built-in ones (`jobtui.jobs`) and a user's `--app` modules.

Assembled here, above the engine, so that the engine knows no job type: built-in types register exactly
as a user's own do.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .engine import Registry
from .jobs import BUILTIN


def default_registry(apps: Iterable[str] = ()) -> Registry:
    """Return a registry with the built-in job types and those of `apps` (and of $JOBTUI_APP)."""
    registry = Registry(BUILTIN)
    modules = [m for m in os.environ.get("JOBTUI_APP", "").split(",") if m.strip()]
    for m in [*modules, *apps]:
        registry.load_module(m.strip())
    return registry
