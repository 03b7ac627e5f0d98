"""Kinds the engine passes around: why a job stops (and Stop, which carries it to a safe point), what a runner reports.

Pure (stdlib only), like `model`, so that the faces can read them without importing the engine.
"""

from __future__ import annotations

from enum import StrEnum


class StopKind(StrEnum):
    """Why a running job is asked to stop at its next safe point (`ctx.request`)."""

    PAUSE = "pause"
    """A person (or auto-pause) paused it: it stays paused until resumed."""
    CANCEL = "cancel"
    """A person cancelled it (or asked it to fail): it ends at once."""
    SHUTDOWN = "shutdown"
    """The runner is stopping: the job goes back to the queue at its last checkpoint."""
    LOST = "lost"
    """Another runner holds the job now: stop without writing anything."""
    STORE = "store"
    """A write of the job could not be committed: hand it back at its last committed checkpoint."""


class RunnerEvent(StrEnum):
    """What a runner reports to its `on_event(event, job_id)` listener."""

    STARTED = "started"
    """A job was claimed (or a held one resumed) and runs here."""
    COMPLETED = "completed"
    """A job's last stage completed."""
    FAILED = "failed"
    """A job failed (for good, or until its automatic retry)."""
    PAUSE = "pause"
    """A job stopped paused (or is held paused by its stage)."""
    CANCEL = "cancel"
    """A job stopped cancelled."""
    SHUTDOWN = "shutdown"
    """A job was handed back because the runner stops."""
    STORE = "store"
    """A job was handed back because its writes could not be committed."""
    RECOVERED = "recovered"
    """A job of a lost runner was recovered."""
    FINISHED = "finished"
    """A job's task ended here, whatever the outcome (after one of the events above)."""

    @classmethod
    def of_stop(cls, kind: StopKind) -> RunnerEvent:
        """Return the event that reports a job stopped for `kind` (never LOST: a lost job reports nothing)."""
        return cls(kind.value)


class Stop(BaseException):
    """Raised at a safe point to stop a job: pause, cancel, shutdown or lost lease.

    A BaseException, so that a stage's own `except Exception` does not swallow it.
    """

    def __init__(self, kind: StopKind, reason: str | None = None) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(kind, reason)
