"""Records of a job as stored: the job, its stages, attempts, requests, files, references, log lines, items."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..redaction import Secrets, redact
from .states import ACTIVE, HOLDABLE, RESUMABLE, ItemStatus, JobStatus, StageStatus

JobId = int


def now_ms() -> int:
    """Return the wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


_ISO_RANGE = range(0, 4_102_444_800_000)
"""Epoch ms of the years 1970 to 2099, formatted the quick way (the same text as through datetime)."""


@functools.lru_cache(maxsize=4096)
def _iso_second(s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))


def iso(ms: int | None) -> str | None:
    """Format epoch ms as ISO 8601 UTC, or None."""
    if ms is None:
        return None
    if type(ms) is int and ms in _ISO_RANGE:
        # A job detail formats ~30 times: the second is cached (polls repeat them), the ms appended.
        s, frac = divmod(ms, 1000)
        return f"{_iso_second(s)}.{frac:03d}Z"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


@dataclass(frozen=True, slots=True)
class StageRun:
    """One stage of one job, as stored."""

    index: int
    name: str
    status: StageStatus
    attempts: int = 0
    max_attempts: int = 1
    started_at_ms: int | None = None
    finished_at_ms: int | None = None
    error: str | None = None
    items_total: int | None = None
    items_done: int = 0
    items_failed: int = 0
    checkpoint_at_ms: int | None = None
    next_attempt_at_ms: int | None = None
    runs: int = 0
    """Times the stage started: every attempt, and every resume after a pause, a shutdown or a crash."""
    failures: int = 0
    """Failed attempts in the current retry budget (an interruption is not a failure)."""
    output: Any = None
    """The stage's return value, once completed."""
    traceback: str | None = None
    """The last frames of an unexpected exception that failed the stage (file:line), if any."""

    @property
    def duration_ms(self) -> int | None:
        """Return how long the stage ran (so far, if running)."""
        if self.started_at_ms is None:
            return None
        end = self.finished_at_ms if self.finished_at_ms is not None else now_ms()
        return max(0, end - self.started_at_ms)

    def to_dict(self) -> dict[str, Any]:
        """Return the stage as in the job detail JSON."""
        return {
            "name": self.name,
            "status": self.status.value,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "started_at": iso(self.started_at_ms),
            "finished_at": iso(self.finished_at_ms),
            "error": self.error,
            "items_total": self.items_total,
            "items_done": self.items_done,
            "items_failed": self.items_failed,
            "last_checkpoint_at": iso(self.checkpoint_at_ms),
            "next_attempt_at": iso(self.next_attempt_at_ms),
            "runs": self.runs,
            "failures": self.failures,
            "output": self.output,
            "traceback": self.traceback,
        }


@dataclass(frozen=True, slots=True)
class Job:
    """One job, as stored (without its stages)."""

    job_id: JobId
    type: str
    status: JobStatus
    params: dict[str, Any]
    priority: int = 0
    unique_key: str | None = None
    stage_names: tuple[str, ...] = ()
    current_step_index: int = 0
    progress_done: int = 0
    progress_total: int = 0
    progress_message: str | None = None
    failed_step: str | None = None
    error_message: str | None = None
    pause_reason: str | None = None
    retry_count: int = 0
    max_retries: int = 0
    next_retry_at_ms: int | None = None
    resume_count: int = 0
    recovery_count: int = 0
    consecutive_failures: int = 0
    run_at_ms: int | None = None
    created_at_ms: int = 0
    started_at_ms: int | None = None
    updated_at_ms: int = 0
    paused_at_ms: int | None = None
    completed_at_ms: int | None = None
    cancelled_at_ms: int | None = None
    lease_owner: str | None = None
    items_done: int = 0
    items_failed: int = 0
    timeout_ms: int | None = None
    """A limit for each run of the whole job (`submit --timeout`); None: the job type's."""
    queue: str | None = None
    """The queue whose limits it runs under (`--queue`); None: only the runner's own limit."""
    slot: int | None = None
    """Its slot number in a queue that gives slots ($JOBTUI_SLOT), set when a runner claims it."""

    @property
    def total_steps(self) -> int:
        """Return the number of stages."""
        return len(self.stage_names)

    @property
    def current_step(self) -> str | None:
        """Return the name of the stage the job is at, or None when done."""
        if 0 <= self.current_step_index < len(self.stage_names):
            return self.stage_names[self.current_step_index]
        return None

    @property
    def last_successful_step(self) -> str | None:
        """Return the name of the last stage that completed in order."""
        if self.status is JobStatus.COMPLETED and self.stage_names:
            return self.stage_names[-1]
        idx = self.current_step_index - 1
        return self.stage_names[idx] if 0 <= idx < len(self.stage_names) else None

    @property
    def progress(self) -> float:
        """Return the overall progress from 0.0 to 1.0."""
        if self.status is JobStatus.COMPLETED:
            return 1.0
        total = len(self.stage_names)
        if total == 0:
            return 0.0
        inner = self.progress_done / self.progress_total if self.progress_total > 0 else 0.0
        return min(1.0, (self.current_step_index + min(inner, 1.0)) / total)

    @property
    def can_resume(self) -> bool:
        """Tell whether `resume` applies."""
        return self.status in RESUMABLE

    @property
    def held(self) -> bool:
        """Tell whether a runner keeps this paused (or resumed, not yet continued) job's stage in place."""
        return self.lease_owner is not None and self.status in HOLDABLE

    @property
    def elapsed_ms(self) -> int | None:
        """Return the time since the job first started (until it ended)."""
        if self.started_at_ms is None:
            return None
        end = self.completed_at_ms or self.cancelled_at_ms
        if end is None and self.status not in ACTIVE and self.status is not JobStatus.QUEUED:
            end = self.updated_at_ms
        return max(0, (end or now_ms()) - self.started_at_ms)

    @property
    def name(self) -> str:
        """Return the name people know the job by: its `name` param (a command job's `--name`, else its command line), or ''."""
        name = self.params.get("name") if isinstance(self.params, dict) else None
        return name if isinstance(name, str) else ""

    def to_dict(self, *, secrets_visible: bool = False, secrets: Secrets | None = None) -> dict[str, Any]:
        """Return the job as in the job detail JSON (without stages); secrets redacted unless `secrets_visible`
        (`secrets`: the params' own, when the caller has them already)."""
        if secrets_visible:
            secrets = None
        elif secrets is None:
            secrets = Secrets.of(self.params)
        out = self._fields(secrets)
        out["name"] = out["params"].get("name") if isinstance(out["params"], dict) and isinstance(
            out["params"].get("name"), str) else None
        if secrets is not None:
            for name in ("unique_key", "progress_message", "error_message", "pause_reason"):
                if isinstance(out[name], str):
                    out[name] = redact(out[name], secrets)
        return out

    def _fields(self, secrets: Secrets | None) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "type": self.type,
            "status": self.status.value,
            "params": self.params if secrets is None else redact(self.params, secrets),
            "priority": self.priority,
            "unique_key": self.unique_key,
            "current_step": self.current_step,
            "current_step_index": self.current_step_index,
            "total_steps": self.total_steps,
            "progress_percentage": round(self.progress * 100, 1),
            "progress_message": self.progress_message,
            "last_successful_step": self.last_successful_step,
            "failed_step": self.failed_step,
            "error_message": self.error_message,
            "can_resume": self.can_resume,
            "pause_reason": self.pause_reason,
            "retry_count": self.retry_count,
            "max_retries": self.max_retries,
            "next_retry_at": iso(self.next_retry_at_ms),
            "resume_count": self.resume_count,
            "recovery_count": self.recovery_count,
            "run_at": iso(self.run_at_ms),
            "created_at": iso(self.created_at_ms),
            "started_at": iso(self.started_at_ms),
            "updated_at": iso(self.updated_at_ms),
            "paused_at": iso(self.paused_at_ms),
            "completed_at": iso(self.completed_at_ms),
            "cancelled_at": iso(self.cancelled_at_ms),
            "consecutive_failures": self.consecutive_failures,
            "timeout_s": None if self.timeout_ms is None else self.timeout_ms / 1000,
            "queue": self.queue,
            "slot": self.slot,
        }


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One failed attempt of a stage, kept as history."""

    stage_index: int
    attempt: int
    """The stage's run in which it failed (1-based; runs also count resumes)."""
    failed_at_ms: int
    error: str
    transient: bool

    def to_dict(self, stage_names: tuple[str, ...]) -> dict[str, Any]:
        """Return the attempt as in `show --json`'s attempt_errors."""
        name: str | int = stage_names[self.stage_index] if self.stage_index < len(stage_names) else self.stage_index
        return {"stage": name, "attempt": self.attempt, "failed_at": iso(self.failed_at_ms), "error": self.error,
                "transient": self.transient}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One change of a job's state by a request (pause, resume, cancel, fail...) or by recovery: who and when."""

    ts_ms: int
    action: str
    """An Action value, or 'submit', 'recover', 'depend', 'auto_pause' (a runner paused it after failures in a row)."""
    from_status: str
    to_status: str
    source: str
    """Who asked: 'cli', 'tui', a runner id (recovery), ..."""
    detail: str | None = None
    """The stage of a rewind, the reason of a fail, the lost runner of a recovery."""

    def to_dict(self) -> dict[str, Any]:
        """Return the request as in `show --json`'s history."""
        return {"at": iso(self.ts_ms), "action": self.action, "from": self.from_status, "to": self.to_status,
                "source": self.source, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file a stage keeps in the job's workspace."""

    path: str
    """Relative to the workspace when inside it."""
    stage_index: int
    size: int
    sha256: str
    created_at_ms: int

    def to_dict(self) -> dict[str, Any]:
        """Return the file as in the job detail JSON."""
        return {"path": self.path, "stage_index": self.stage_index, "size": self.size, "sha256": self.sha256,
                "created_at": iso(self.created_at_ms)}


@dataclass(frozen=True, slots=True)
class JobRef:
    """Another job named by a dependency: its id, type and status."""

    job_id: JobId
    type: str
    status: JobStatus

    def to_dict(self) -> dict[str, Any]:
        """Return the reference as in the job detail JSON."""
        return {"job_id": self.job_id, "type": self.type, "status": self.status.value}


def waiting_reason(waiting: tuple[JobRef, ...] | list[JobRef]) -> str:
    """Word what a blocked job waits on, e.g. 'waiting on #12 (failed), #13'."""
    parts = [f"#{r.job_id} ({r.status.value})" for r in waiting]
    return "waiting on " + ", ".join(parts) if parts else ""



@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a job's log."""

    log_id: int
    job_id: JobId
    ts_ms: int
    level: str
    message: str


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One item's stored outcome."""

    stage_index: int
    stage: str
    key: str
    status: ItemStatus
    result: Any
    error: str | None
    attempts: int
    updated_at_ms: int


