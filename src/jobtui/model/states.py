"""Job, stage and item states, the requests and events that move them, and the one transition table."""

from __future__ import annotations

from enum import StrEnum


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


MOVES: tuple[tuple[JobStatus, JobStatus, Action | Event], ...] = (
    (JobStatus.QUEUED, JobStatus.RUNNING, Event.CLAIM),
    (JobStatus.QUEUED, JobStatus.PAUSED, Action.PAUSE),
    (JobStatus.QUEUED, JobStatus.CANCELLED, Action.CANCEL),
    (JobStatus.QUEUED, JobStatus.BLOCKED, Event.DEPEND),
    (JobStatus.BLOCKED, JobStatus.QUEUED, Event.UNBLOCK),
    (JobStatus.BLOCKED, JobStatus.PAUSED, Action.PAUSE),
    (JobStatus.BLOCKED, JobStatus.CANCELLED, Action.CANCEL),
    (JobStatus.RUNNING, JobStatus.COMPLETED, Event.COMPLETE),
    (JobStatus.RUNNING, JobStatus.FAILED, Event.ERROR),
    (JobStatus.RUNNING, JobStatus.WAITING_RETRY, Event.RETRY_LATER),
    (JobStatus.RUNNING, JobStatus.PAUSED, Event.AUTO_PAUSE),
    (JobStatus.RUNNING, JobStatus.PAUSING, Action.PAUSE),
    (JobStatus.RUNNING, JobStatus.CANCELLING, Action.CANCEL),
    (JobStatus.RUNNING, JobStatus.CANCELLED, Event.SAFE_POINT),
    (JobStatus.RUNNING, JobStatus.QUEUED, Event.HAND_BACK),
    (JobStatus.PAUSING, JobStatus.PAUSED, Event.SAFE_POINT),
    (JobStatus.PAUSING, JobStatus.PAUSED, Event.HAND_BACK),
    (JobStatus.PAUSING, JobStatus.CANCELLING, Action.CANCEL),
    (JobStatus.PAUSING, JobStatus.CANCELLED, Event.SAFE_POINT),
    (JobStatus.PAUSING, JobStatus.COMPLETED, Event.COMPLETE),
    (JobStatus.PAUSING, JobStatus.FAILED, Event.ERROR),
    (JobStatus.PAUSING, JobStatus.WAITING_RETRY, Event.RETRY_LATER),
    (JobStatus.CANCELLING, JobStatus.CANCELLED, Event.SAFE_POINT),
    (JobStatus.CANCELLING, JobStatus.CANCELLED, Event.HAND_BACK),
    (JobStatus.CANCELLING, JobStatus.COMPLETED, Event.COMPLETE),
    (JobStatus.CANCELLING, JobStatus.FAILED, Event.ERROR),
    (JobStatus.PAUSED, JobStatus.QUEUED, Action.RESUME),
    (JobStatus.PAUSED, JobStatus.BLOCKED, Action.RESUME),
    (JobStatus.PAUSED, JobStatus.QUEUED, Action.REWIND),
    (JobStatus.PAUSED, JobStatus.BLOCKED, Action.REWIND),
    (JobStatus.PAUSED, JobStatus.CANCELLED, Action.CANCEL),
    (JobStatus.WAITING_RETRY, JobStatus.RUNNING, Event.CLAIM),
    (JobStatus.WAITING_RETRY, JobStatus.QUEUED, Action.RETRY),
    (JobStatus.WAITING_RETRY, JobStatus.BLOCKED, Action.RETRY),
    (JobStatus.WAITING_RETRY, JobStatus.PAUSED, Action.PAUSE),
    (JobStatus.WAITING_RETRY, JobStatus.CANCELLED, Action.CANCEL),
    (JobStatus.FAILED, JobStatus.QUEUED, Action.RESUME),
    (JobStatus.FAILED, JobStatus.BLOCKED, Action.RESUME),
    (JobStatus.FAILED, JobStatus.QUEUED, Action.RETRY),
    (JobStatus.FAILED, JobStatus.BLOCKED, Action.RETRY),
    (JobStatus.FAILED, JobStatus.QUEUED, Action.REWIND),
    (JobStatus.FAILED, JobStatus.BLOCKED, Action.REWIND),
    (JobStatus.FAILED, JobStatus.CANCELLED, Action.CANCEL),
    (JobStatus.CANCELLED, JobStatus.QUEUED, Action.RESUME),
    (JobStatus.CANCELLED, JobStatus.BLOCKED, Action.RESUME),
    (JobStatus.CANCELLED, JobStatus.QUEUED, Action.RETRY),
    (JobStatus.CANCELLED, JobStatus.BLOCKED, Action.RETRY),
    (JobStatus.CANCELLED, JobStatus.QUEUED, Action.REWIND),
    (JobStatus.CANCELLED, JobStatus.BLOCKED, Action.REWIND),
    (JobStatus.COMPLETED, JobStatus.QUEUED, Action.RETRY),
    (JobStatus.COMPLETED, JobStatus.BLOCKED, Action.RETRY),
    (JobStatus.COMPLETED, JobStatus.QUEUED, Action.REWIND),
    (JobStatus.QUEUED, JobStatus.FAILED, Action.FAIL),
    (JobStatus.BLOCKED, JobStatus.FAILED, Action.FAIL),
    (JobStatus.WAITING_RETRY, JobStatus.FAILED, Action.FAIL),
    (JobStatus.PAUSED, JobStatus.FAILED, Action.FAIL),
    (JobStatus.RUNNING, JobStatus.FAILED, Action.FAIL),
    (JobStatus.PAUSING, JobStatus.FAILED, Action.FAIL),
    (JobStatus.CANCELLING, JobStatus.FAILED, Action.FAIL),
    (JobStatus.COMPLETED, JobStatus.BLOCKED, Action.REWIND),
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

_RUNNER_EVENTS = frozenset({Event.COMPLETE, Event.ERROR, Event.RETRY_LATER, Event.AUTO_PAUSE, Event.SAFE_POINT, Event.HAND_BACK})


def _from_by(causes: frozenset[Action | Event] | set[Action | Event]) -> frozenset[JobStatus]:
    return frozenset(src for src, _, by in MOVES if by in causes)


ACTION_FROM: dict[Action, frozenset[JobStatus]] = {
    a: _from_by({a}) for a in Action if a is not Action.DELETE
}
"""The states in which each action applies (the TUI hides an action elsewhere); DELETE is added below."""

ACTIVE: frozenset[JobStatus] = _from_by(_RUNNER_EVENTS)
"""States in which a runner holds the job (it can end them itself): running, pausing, cancelling."""
RUNNABLE: frozenset[JobStatus] = _from_by({Event.CLAIM})
"""States a runner may claim (when due): queued, waiting_retry."""
AT_REST: frozenset[JobStatus] = frozenset(s for s in JobStatus if all(isinstance(by, Action) for src, _, by in MOVES
                                                                     if src is s))
"""States in which nothing happens until a person acts: paused, failed, cancelled, completed."""
TERMINAL: frozenset[JobStatus] = AT_REST & ACTION_FROM[Action.RETRY]
"""States in which a job has ended (a retry runs it again): completed, cancelled, failed."""
RESUMABLE: frozenset[JobStatus] = ACTION_FROM[Action.RESUME]
"""States that `resume` continues from the last checkpoint: paused, failed, cancelled."""
PENDING: frozenset[JobStatus] = RUNNABLE | ACTIVE
"""States in which a runner has work to do, now or later: runnable or active (not blocked: it waits on others)."""
ACTION_FROM[Action.DELETE] = frozenset(JobStatus) - ACTIVE
HOLDABLE: frozenset[JobStatus] = frozenset({JobStatus.PAUSED} | {dst for src, dst, by in MOVES if src is JobStatus.PAUSED and by is Action.RESUME})
"""States in which a runner may still hold a job whose stage waits in place (a frozen command): paused, or
queued again by a resume until that runner continues it. Any other state means the runner lets go."""
DEPENDABLE: frozenset[JobStatus] = (_from_by({Event.DEPEND}) | _from_by({Event.UNBLOCK})) | (AT_REST - TERMINAL)
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

