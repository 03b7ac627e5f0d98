"""The engine: job definitions, the context stages get, retry policies and the runner."""

from __future__ import annotations

from .context import Context, ItemOutcome
from .definition import REQUIRED, JobType, Param, Registry, Stage, default_registry, stage
from .retry import NO_RETRY, Retry, is_transient
from .runner import Runner, workspace_root_for

__all__ = [
    "NO_RETRY", "REQUIRED", "Context", "ItemOutcome", "JobType", "Param", "Registry", "Retry", "Runner", "Stage",
    "default_registry", "is_transient", "stage", "workspace_root_for",
]
