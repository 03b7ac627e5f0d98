"""Records of what surrounds jobs: notifications, supervised processes, schedules, runners, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..redaction import Secrets, redact, redact_command
from .jobs import JobId, iso


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
        """Return the delivery as in the job detail JSON (secret parts of URLs and commands blanked)."""
        return {
            "notification_id": self.notification_id, "event": self.event, "kind": self.kind,
            "target": redact_command(self.target), "state": self.state, "attempts": self.attempts,
            "last_error": None if self.last_error is None else redact_command(self.last_error),
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
    token: str | None = None
    """The token in its environment: whatever it started still carries it (engine/containment.py)."""
    cgroup: str | None = None
    """The cgroup v2 folder it and everything it started run in (None: none could be made)."""

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
            "labels": dict(self.options.get("labels") or {}), "template": self.options.get("template"),
            "queue": self.options.get("queue"), "notify_on": list(self.options.get("notify_on") or ()),
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
    host_id: str | None = None
    """Its boot id and PID namespace (`BOOT/PIDNS`): only a runner with the same may judge it by its pid."""

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
