"""The engine: job definitions, the context stages get, retry policies, process supervision and the runner."""

from __future__ import annotations

from .childenv import child_env
from .context import Context, ItemOutcome
from .definition import REQUIRED, JobType, Param, Registry, Stage, stage
from .options import RunnerOptions, workspace_root_for
from .process import KILL_GRACE_S, Processes, Supervised, describe_exit
from .retry import NO_RETRY, Retry, is_transient
from .runner import Runner
from .tolerance import check_allow_failures

__all__ = [
    "KILL_GRACE_S",
    "NO_RETRY",
    "REQUIRED",
    "Context",
    "ItemOutcome",
    "JobType",
    "Param",
    "Processes",
    "Registry",
    "Retry",
    "Runner",
    "RunnerOptions",
    "Stage",
    "Supervised",
    "check_allow_failures",
    "child_env",
    "describe_exit",
    "is_transient",
    "stage",
    "workspace_root_for",
]
