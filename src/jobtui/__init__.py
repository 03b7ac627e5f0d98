"""jobtui: durable, steerable background jobs of async stages, checkpointed to SQLite."""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "KILL_GRACE_S",
    "NO_RETRY",
    "REQUIRED",
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
    "TransientError",
    "__version__",
    "check_allow_failures",
    "child_env",
    "describe_exit",
    "is_transient",
    "redact",
    "stage",
]
