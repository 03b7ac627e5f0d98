"""jobtui: durable, steerable background jobs of async stages, checkpointed to SQLite."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import (
    KILL_GRACE_S,
    NO_RETRY,
    REQUIRED,
    Context,
    ItemOutcome,
    JobType,
    Param,
    Processes,
    Registry,
    Retry,
    Runner,
    Stage,
    Supervised,
    check_allow_failures,
    child_env,
    describe_exit,
    is_transient,
    stage,
)
from .errors import (
    ItemsFailedError,
    JobTimeoutError,
    JobtuiError,
    PermanentError,
    ReplayMismatchError,
    StageError,
    StageTimeoutError,
    TransientError,
)
from .model import Job, JobDetail, JobStatus, StageRun, StageStatus
from .redaction import redact

if TYPE_CHECKING:
    from .client import Client
    from .connect import SyncClient, connect

__version__ = "0.1.0"

_LAZY = {"Client": "client", "SyncClient": "connect", "connect": "connect"}
"""Names loaded on first use: the client brings the built-in job types, which import this package themselves."""


def __getattr__(name: str) -> Any:
    """Import `Client`, `SyncClient` and `connect` when first asked for (`from jobtui import Client`)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KILL_GRACE_S",
    "NO_RETRY",
    "REQUIRED",
    "Client",
    "Context",
    "ItemOutcome",
    "ItemsFailedError",
    "Job",
    "JobDetail",
    "JobStatus",
    "JobTimeoutError",
    "JobType",
    "JobtuiError",
    "Param",
    "PermanentError",
    "Processes",
    "Registry",
    "ReplayMismatchError",
    "Retry",
    "Runner",
    "Stage",
    "StageError",
    "StageRun",
    "StageStatus",
    "StageTimeoutError",
    "Supervised",
    "SyncClient",
    "TransientError",
    "__version__",
    "check_allow_failures",
    "child_env",
    "connect",
    "describe_exit",
    "is_transient",
    "redact",
    "stage",
]
