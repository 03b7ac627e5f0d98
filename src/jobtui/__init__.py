"""jobtui: durable, steerable background jobs of async stages, checkpointed to SQLite."""

from __future__ import annotations

from .engine import (
    NO_RETRY,
    REQUIRED,
    Context,
    ItemOutcome,
    JobType,
    Param,
    Registry,
    Retry,
    Runner,
    Stage,
    is_transient,
    stage,
)
from .errors import (
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
    "NO_RETRY",
    "REQUIRED",
    "Context",
    "ItemOutcome",
    "Job",
    "JobDetail",
    "JobStatus",
    "JobTimeoutError",
    "JobType",
    "JobtuiError",
    "Param",
    "PermanentError",
    "Registry",
    "ReplayMismatchError",
    "Retry",
    "Runner",
    "Stage",
    "StageError",
    "StageRun",
    "StageStatus",
    "StageTimeoutError",
    "TransientError",
    "__version__",
    "is_transient",
    "redact",
    "stage",
]
