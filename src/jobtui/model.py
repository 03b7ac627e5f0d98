"""Records, states and the transition table: pure data, no I/O."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .redaction import REDACTED as REDACTED
from .redaction import Secrets as Secrets
from .redaction import is_secret_name as is_secret_name
from .redaction import redact as redact
from .redaction import scrub as scrub
from .redaction import scrub_urls as scrub_urls
from .redaction import secret_values as secret_values

JobId = int


class JobStatus(StrEnum):
    """Where a job is in its life; the database text equals `.value`."""

    QUEUED = "queued"
    """Waiting for a runner to claim it (or for `run_at`)."""
    BLOCKED = "blocked"
    """Waiting for the jobs it depends on (`--after`) to complete; no runner claims it until then."""
    RUNNING = "running"
    """A runner holds its lease and runs its stages."""
    PAUSING = "pausing"
    """Pause requested; the job stops at its next safe point."""
    PAUSED = "paused"
    """Stopped at a checkpoint by request or by auto-pause; resume continues it."""
    CANCELLING = "cancelling"
    """Cancel requested; the runner interrupts it."""
    CANCELLED = "cancelled"
    """Stopped by request; its checkpoints are kept and resume continues it."""
    WAITING_RETRY = "waiting_retry"
    """Failed with automatic retries left; queued again at `next_retry_at`."""
    FAILED = "failed"
    """A stage failed for good; resume or retry continues at the failed stage."""
    COMPLETED = "completed"
    """Every stage is done."""


class StageStatus(StrEnum):
    """Where a stage of a job is."""

    PENDING = "pending"
    """Not started, or reset by a rewind."""
    RUNNING = "running"
    """An attempt is in progress."""
    RETRYING = "retrying"
    """An attempt failed with a transient error; the next waits out its backoff."""
    INTERRUPTED = "interrupted"
    """Stopped by pause, cancel, shutdown or crash; it runs again from its last checkpoint."""
    FAILED = "failed"
    """Failed for good."""
    COMPLETED = "completed"
    """Its output is committed; it never runs again unless rewound."""


class ItemStatus(StrEnum):
    """The outcome of one item of a stage."""

    DONE = "done"
    """Its result is committed; it never runs again unless rewound."""
    FAILED = "failed"
    """It failed after its retries; it runs again when the stage runs again."""


class Action(StrEnum):
    """A request a person sends to a job."""

    PAUSE = "pause"
    """Stop at the next safe point; resume continues."""
    RESUME = "resume"
    """Continue a paused, failed or cancelled job from its last checkpoint."""
    CANCEL = "cancel"
    """Stop now (checkpoints are kept)."""
    RETRY = "retry"
    """Run an ended job again now (a completed one: its failed items)."""
    REWIND = "rewind"
    """Run again from a stage (its items and later stages are redone)."""
    DELETE = "delete"
    """Remove the job with its items, logs and workspace."""
    FAIL = "fail"
    """An admin's force-fail: a running job is stopped at once; the job ends failed with a reason."""


class Event(StrEnum):
    """What moves a job without a person: the runner, the clock, recovery."""

    CLAIM = "claim"
    """A runner takes a runnable job."""
    COMPLETE = "complete"
    """The last stage finished."""
    ERROR = "error"
    """A stage failed for good."""
    RETRY_LATER = "retry_later"
    """A stage failed with automatic retries of the job left."""
    AUTO_PAUSE = "auto_pause"
    """Too many items failed in a row."""
    SAFE_POINT = "safe_point"
    """A pausing or cancelling job reached its next safe point (or was interrupted there)."""
    HAND_BACK = "hand_back"
    """Its runner shut down or was lost: back at its last checkpoint."""
    DEPEND = "depend"
    """Dependencies on unfinished jobs were added (`jobtui depend`)."""
    UNBLOCK = "unblock"
    """The last job it depends on completed."""


S = JobStatus
A = Action
E = Event
MOVES: tuple[tuple[JobStatus, JobStatus, Action | Event], ...] = (
    (S.QUEUED, S.RUNNING, E.CLAIM),
    (S.QUEUED, S.PAUSED, A.PAUSE),
    (S.QUEUED, S.CANCELLED, A.CANCEL),
    (S.QUEUED, S.BLOCKED, E.DEPEND),
    (S.BLOCKED, S.QUEUED, E.UNBLOCK),
    (S.BLOCKED, S.PAUSED, A.PAUSE),
    (S.BLOCKED, S.CANCELLED, A.CANCEL),
    (S.RUNNING, S.COMPLETED, E.COMPLETE),
    (S.RUNNING, S.FAILED, E.ERROR),
    (S.RUNNING, S.WAITING_RETRY, E.RETRY_LATER),
    (S.RUNNING, S.PAUSED, E.AUTO_PAUSE),
    (S.RUNNING, S.PAUSING, A.PAUSE),
    (S.RUNNING, S.CANCELLING, A.CANCEL),
    (S.RUNNING, S.CANCELLED, E.SAFE_POINT),
    (S.RUNNING, S.QUEUED, E.HAND_BACK),
    (S.PAUSING, S.PAUSED, E.SAFE_POINT),
    (S.PAUSING, S.PAUSED, E.HAND_BACK),
    (S.PAUSING, S.CANCELLING, A.CANCEL),
    (S.PAUSING, S.CANCELLED, E.SAFE_POINT),
    (S.PAUSING, S.COMPLETED, E.COMPLETE),
    (S.PAUSING, S.FAILED, E.ERROR),
    (S.PAUSING, S.WAITING_RETRY, E.RETRY_LATER),
    (S.CANCELLING, S.CANCELLED, E.SAFE_POINT),
    (S.CANCELLING, S.CANCELLED, E.HAND_BACK),
    (S.CANCELLING, S.COMPLETED, E.COMPLETE),
    (S.CANCELLING, S.FAILED, E.ERROR),
    (S.PAUSED, S.QUEUED, A.RESUME),
    (S.PAUSED, S.BLOCKED, A.RESUME),
    (S.PAUSED, S.QUEUED, A.REWIND),
    (S.PAUSED, S.BLOCKED, A.REWIND),
    (S.PAUSED, S.CANCELLED, A.CANCEL),
    (S.WAITING_RETRY, S.RUNNING, E.CLAIM),
    (S.WAITING_RETRY, S.QUEUED, A.RETRY),
    (S.WAITING_RETRY, S.BLOCKED, A.RETRY),
    (S.WAITING_RETRY, S.PAUSED, A.PAUSE),
    (S.WAITING_RETRY, S.CANCELLED, A.CANCEL),
    (S.FAILED, S.QUEUED, A.RESUME),
    (S.FAILED, S.BLOCKED, A.RESUME),
    (S.FAILED, S.QUEUED, A.RETRY),
    (S.FAILED, S.BLOCKED, A.RETRY),
    (S.FAILED, S.QUEUED, A.REWIND),
    (S.FAILED, S.BLOCKED, A.REWIND),
    (S.FAILED, S.CANCELLED, A.CANCEL),
    (S.CANCELLED, S.QUEUED, A.RESUME),
    (S.CANCELLED, S.BLOCKED, A.RESUME),
    (S.CANCELLED, S.QUEUED, A.RETRY),
    (S.CANCELLED, S.BLOCKED, A.RETRY),
    (S.CANCELLED, S.QUEUED, A.REWIND),
    (S.CANCELLED, S.BLOCKED, A.REWIND),
    (S.COMPLETED, S.QUEUED, A.RETRY),
    (S.COMPLETED, S.BLOCKED, A.RETRY),
    (S.COMPLETED, S.QUEUED, A.REWIND),
    (S.QUEUED, S.FAILED, A.FAIL),
    (S.BLOCKED, S.FAILED, A.FAIL),
    (S.WAITING_RETRY, S.FAILED, A.FAIL),
    (S.PAUSED, S.FAILED, A.FAIL),
    (S.RUNNING, S.FAILED, A.FAIL),
    (S.PAUSING, S.FAILED, A.FAIL),
    (S.CANCELLING, S.FAILED, A.FAIL),
    (S.COMPLETED, S.BLOCKED, A.REWIND),
)
"""The transition table: every allowed state change, from → to, and what makes it. Every list of
states below (and the store's SQL lists) is derived from it; the store guards each UPDATE with it.

A job that is queued again (resume, retry, rewind, or added dependencies) goes to `blocked` instead of
`queued` while a job it depends on has not completed; the last dependency's completion moves it on.
"""

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    s: frozenset(dst for src, dst, _ in MOVES if src is s) for s in JobStatus
}
"""Every allowed state change, from → to (MOVES without the cause)."""

_RUNNER_EVENTS = frozenset({E.COMPLETE, E.ERROR, E.RETRY_LATER, E.AUTO_PAUSE, E.SAFE_POINT, E.HAND_BACK})


def _from_by(causes: frozenset[Action | Event] | set[Action | Event]) -> frozenset[JobStatus]:
    return frozenset(src for src, _, by in MOVES if by in causes)


ACTION_FROM: dict[Action, frozenset[JobStatus]] = {
    a: _from_by({a}) for a in Action if a is not A.DELETE
}
"""The states in which each action applies (the TUI hides an action elsewhere); DELETE is added below."""

ACTIVE: frozenset[JobStatus] = _from_by(_RUNNER_EVENTS)
"""States in which a runner holds the job (it can end them itself): running, pausing, cancelling."""
RUNNABLE: frozenset[JobStatus] = _from_by({E.CLAIM})
"""States a runner may claim (when due): queued, waiting_retry."""
AT_REST: frozenset[JobStatus] = frozenset(s for s in JobStatus if all(isinstance(by, Action) for src, _, by in MOVES
                                                                     if src is s))
"""States in which nothing happens until a person acts: paused, failed, cancelled, completed."""
TERMINAL: frozenset[JobStatus] = AT_REST & ACTION_FROM[A.RETRY]
"""States in which a job has ended (a retry runs it again): completed, cancelled, failed."""
RESUMABLE: frozenset[JobStatus] = ACTION_FROM[A.RESUME]
"""States that `resume` continues from the last checkpoint: paused, failed, cancelled."""
PENDING: frozenset[JobStatus] = RUNNABLE | ACTIVE
"""States in which a runner has work to do, now or later: runnable or active (not blocked: it waits on others)."""
ACTION_FROM[A.DELETE] = frozenset(JobStatus) - ACTIVE
HOLDABLE: frozenset[JobStatus] = frozenset({S.PAUSED} | {dst for src, dst, by in MOVES if src is S.PAUSED and by is A.RESUME})
"""States in which a runner may still hold a job whose stage waits in place (a frozen command): paused, or
queued again by a resume until that runner continues it. Any other state means the runner lets go."""
DEPENDABLE: frozenset[JobStatus] = (_from_by({E.DEPEND}) | _from_by({E.UNBLOCK})) | (AT_REST - TERMINAL)
"""States in which a job that has not started yet may take new dependencies: queued, blocked, paused."""


def sources(target: JobStatus) -> frozenset[JobStatus]:
    """Return the states from which a job may move to `target`."""
    return frozenset(src for src, dests in TRANSITIONS.items() if target in dests)


def can_transition(src: JobStatus, dst: JobStatus) -> bool:
    """Tell whether the table allows src → dst."""
    return dst in TRANSITIONS.get(src, frozenset())


def ordered(statuses: frozenset[JobStatus] | set[JobStatus]) -> list[JobStatus]:
    """Return statuses in the enum's order (stable text for SQL lists and messages)."""
    return [s for s in JobStatus if s in statuses]


def action_applies(action: Action, status: JobStatus) -> bool:
    """Tell whether `action` applies to a job in `status`."""
    return status in ACTION_FROM[action]


def now_ms() -> int:
    """Return the wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def iso(ms: int | None) -> str | None:
    """Format epoch ms as ISO 8601 UTC, or None."""
    if ms is None:
        return None
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

    def to_dict(self, *, secrets_visible: bool = False) -> dict[str, Any]:
        """Return the job as in the job detail JSON (without stages); secrets redacted unless `secrets_visible`."""
        out = self._fields(secrets_visible)
        if not secrets_visible:
            secrets = Secrets.of(self.params)
            for name in ("unique_key", "progress_message", "error_message", "pause_reason"):
                if isinstance(out[name], str):
                    out[name] = redact(out[name], secrets)
        return out

    def _fields(self, secrets_visible: bool) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "type": self.type,
            "status": self.status.value,
            "params": self.params if secrets_visible else redact(self.params, Secrets.of(self.params)),
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
    """An Action value, or 'submit', 'recover', 'depend'."""
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


class NotifyEvent(StrEnum):
    """A moment in a job's life that its owner is told about."""

    COMPLETED = "completed"
    """Every stage is done."""
    FAILED = "failed"
    """A stage failed for good (no automatic retry left)."""
    CANCELLED = "cancelled"
    """Stopped by request."""
    PAUSED = "paused"
    """Auto-paused after consecutive item failures: it needs a hand."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One event to tell one target (a URL or a command), and how its delivery went."""

    notification_id: int
    job_id: JobId
    event: str
    kind: str
    """'url' or 'cmd'."""
    target: str
    state: str
    """'pending', 'sent' or 'failed' (gave up)."""
    attempts: int
    last_error: str | None
    created_at_ms: int
    next_at_ms: int
    sent_at_ms: int | None

    def to_dict(self) -> dict[str, Any]:
        """Return the delivery as in the job detail JSON (secret parts of URLs blanked)."""
        return {
            "notification_id": self.notification_id, "event": self.event, "kind": self.kind,
            "target": scrub_urls(self.target), "state": self.state, "attempts": self.attempts,
            "last_error": None if self.last_error is None else scrub_urls(self.last_error),
            "created_at": iso(self.created_at_ms), "sent_at": iso(self.sent_at_ms),
            "next_attempt_at": iso(self.next_at_ms) if self.state == "pending" else None,
        }


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """A process a command stage started (one per stage, or per item slot of a `foreach`)."""

    job_id: JobId
    stage_index: int
    slot: str
    """'' for a stage's command; the item key inside `foreach`."""
    pid: int
    pgid: int
    start_ticks: int
    """Field 22 of /proc/PID/stat: with the boot id, tells this process from a later one of the same pid."""
    boot_id: str
    runner_id: str | None
    argv: tuple[str, ...]
    cwd: str | None
    started_at_ms: int
    ended_at_ms: int | None = None
    exit_code: int | None = None
    """The exit status; a negative number is the signal that ended it."""
    frozen: bool = False
    """Stopped with SIGSTOP while its job is paused."""

    @property
    def alive(self) -> bool:
        """Tell whether it had not ended when last recorded."""
        return self.ended_at_ms is None

    def to_dict(self) -> dict[str, Any]:
        """Return the process as in the job detail JSON."""
        return {"stage_index": self.stage_index, "slot": self.slot, "pid": self.pid, "pgid": self.pgid,
                "argv": list(self.argv), "cwd": self.cwd, "started_at": iso(self.started_at_ms),
                "ended_at": iso(self.ended_at_ms), "exit_code": self.exit_code, "frozen": self.frozen}


@dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring job: what to submit, and when (a cron expression in a zone, or a period)."""

    name: str
    cron: str | None
    tz: str
    every_ms: int | None
    anchor_ms: int
    """Periods count from here."""
    job_type: str
    params: dict[str, Any]
    options: dict[str, Any]
    """priority, max_retries, notify: as `submit` takes them."""
    paused: bool
    created_at_ms: int
    next_at_ms: int
    """The next occurrence it fires at (or the first one missed)."""
    last_at_ms: int | None
    last_job_id: JobId | None

    def to_dict(self) -> dict[str, Any]:
        """Return the schedule as `schedule ls --json` prints it (params redacted)."""
        return {
            "name": self.name, "cron": self.cron, "timezone": self.tz if self.cron else None,
            "every_s": None if self.every_ms is None else self.every_ms / 1000, "type": self.job_type,
            "params": redact(self.params, Secrets.of(self.params)), "priority": self.options.get("priority", 0),
            "paused": self.paused, "next_run": None if self.paused else iso(self.next_at_ms),
            "last_run": iso(self.last_at_ms), "last_job_id": self.last_job_id, "created_at": iso(self.created_at_ms),
        }


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    """One occurrence of a schedule: fired (with its job), skipped (previous job still active) or error."""

    name: str
    occurrence_ms: int
    outcome: str
    job_id: JobId | None
    missed: int
    """Earlier occurrences missed while no runner ran, folded into this one."""
    detail: str | None
    at_ms: int
    runner_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the occurrence as in `schedule show --json`."""
        return {"occurrence": iso(self.occurrence_ms), "outcome": self.outcome, "job_id": self.job_id,
                "missed": self.missed, "detail": self.detail, "at": iso(self.at_ms), "runner_id": self.runner_id}


@dataclass(frozen=True, slots=True)
class JobDetail:
    """A job with its stages and counters: what `show` prints."""

    job: Job
    stages: tuple[StageRun, ...]
    results: int = 0
    files: tuple[FileRecord, ...] = ()
    depends_on: tuple[JobRef, ...] = ()
    """The jobs this one starts after (`--after`)."""
    dependents: tuple[JobRef, ...] = ()
    """The jobs that start after this one."""
    notify: tuple[tuple[str, str], ...] = ()
    """Where this job's ends are told: (kind, target), kind 'url' or 'cmd'."""
    notifications: tuple[Notification, ...] = ()
    """Each event told (or to tell), with its delivery state."""
    needs: tuple[str, ...] = ()
    """The tags a runner must have to run this job (`--needs`), sorted."""

    @property
    def waiting_on(self) -> tuple[JobRef, ...]:
        """Return the dependencies that have not completed."""
        return tuple(r for r in self.depends_on if r.status is not JobStatus.COMPLETED)
    processes: tuple[ProcessRecord, ...] = ()

    @property
    def frozen(self) -> bool:
        """Tell whether a command of this job is frozen (SIGSTOP) while the job is paused."""
        return any(p.frozen and p.alive for p in self.processes)

    def to_dict(self, *, secrets_visible: bool = False) -> dict[str, Any]:
        """Return the job detail object of DESIGN.md."""
        out = self.job.to_dict(secrets_visible=secrets_visible)
        out["stages"] = [s.to_dict() for s in self.stages]
        if not secrets_visible:
            secrets = Secrets.of(self.job.params)
            for stage in out["stages"]:
                for key in ("error", "output", "traceback"):
                    if stage[key] is not None:
                        stage[key] = redact(stage[key], secrets)
        out["counters"] = {
            "items_done": sum(s.items_done for s in self.stages),
            "items_failed": sum(s.items_failed for s in self.stages),
            "results": self.results,
        }
        out["files"] = [f.to_dict() for f in self.files]
        out["depends_on"] = [r.to_dict() for r in self.depends_on]
        out["dependents"] = [r.to_dict() for r in self.dependents]
        out["waiting_on"] = [r.job_id for r in self.waiting_on]
        out["notify"] = [{"kind": k, "target": scrub_urls(t)} for k, t in self.notify]
        out["notifications"] = [n.to_dict() for n in self.notifications]
        out["needs"] = list(self.needs)
        if self.processes:
            procs = [p.to_dict() for p in self.processes]
            out["processes"] = procs if secrets_visible else redact(procs, Secrets.of(self.job.params))
            out["frozen"] = self.frozen
        return out


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


@dataclass(frozen=True, slots=True)
class RunnerInfo:
    """A runner process as it registered itself."""

    runner_id: str
    pid: int
    hostname: str
    started_at_ms: int
    heartbeat_at_ms: int
    concurrency: int
    lease_ttl_ms: int | None = None
    """How long this runner's lease lasts without a heartbeat (None: registered by an older jobtui)."""
    name: str | None = None
    """The name it runs under (`run --name`; None: registered by an older jobtui, shown by its id)."""
    tags: tuple[str, ...] = ()
    """Its tags (`run --tag`), sorted: it claims only jobs whose needs are all among them."""

    @property
    def label(self) -> str:
        """Return the name to show: its name, else its id."""
        return self.name or self.runner_id

    def alive(self, now: int, ttl_ms: int) -> bool:
        """Tell whether its heartbeat is fresh (by its own lease TTL when it stored one, else `ttl_ms`)."""
        own = self.lease_ttl_ms
        return now - self.heartbeat_at_ms <= (own if own is not None and own > 0 else ttl_ms)


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts for the header and `jobtui stats`."""

    by_status: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    runners: tuple[RunnerInfo, ...] = ()
    items_done: int = 0
    items_failed: int = 0

    @property
    def total(self) -> int:
        """Return the number of jobs."""
        return sum(self.by_status.values())
