"""The store contract of a person's and the API's requests: submission, control, schedules, queues, templates, tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol, Unpack

from ..apimodel import JobEvent, TokenInfo
from ..editing import EditResult, JobEdit
from ..listing import JobMatch
from ..model import (
    Action,
    Job,
    JobId,
    JobStatus,
    Queue,
    QueueLimits,
    Schedule,
    ScheduleRun,
)
from ..templates import Template
from .protocol_services import EventPruning, Purging, ScheduleFiring, TemplateReads
from .values import ControlResult, DbSize, NewJob


class JobControl(Protocol):
    """Submission and a person's requests, each in one transaction."""

    async def add_jobs(self, jobs: Sequence[NewJob], *, source: str = "cli") -> list[JobId]:
        """Insert jobs; return their ids (UsageError on a unique-key clash: then nothing is stored)."""
        ...

    async def control(
        self, job_id: JobId, action: Action, *, source: str = "cli", to_stage: int | None = None,
        reason: str | None = None,
    ) -> ControlResult:
        """Apply a request (JobNotFoundError, InvalidTransitionError: nothing changes); `reason` for FAIL."""
        ...

    async def edit_job(self, job_id: JobId, edit: JobEdit, *, source: str = "cli") -> EditResult:
        """Edit a job no runner runs, in one guarded transaction recorded in its history (EditRefusedError if not)."""
        ...

    async def add_dependencies(self, job_id: JobId, deps: Sequence[JobId], *, source: str = "cli") -> JobStatus:
        """Make a job that has not started also wait for `deps`; return its status after."""
        ...

    async def request_runner_stop(self, runner_ids: Sequence[str]) -> int:
        """Ask runners to hand their jobs back and exit (read at their next heartbeat); return how many were asked."""
        ...


class Schedules(ScheduleFiring, Protocol):
    """Recurring schedules: kept by the client, fired by runners (one firing per occurrence)."""

    async def add_schedule(self, s: Schedule) -> None: ...

    async def schedules(self) -> list[Schedule]: ...

    async def get_schedule(self, name: str) -> Schedule: ...

    async def set_schedule_paused(self, name: str, paused: bool, next_at_ms: int | None = None) -> None: ...

    async def remove_schedule(self, name: str) -> None: ...

    async def schedule_runs(self, name: str, *, limit: int = 50) -> list[ScheduleRun]: ...


class Queues(Protocol):
    """Queues: named limits that every runner's claim applies (store/queues.py)."""

    async def add_queue(self, name: str, limits: QueueLimits) -> Queue: ...

    async def edit_queue(self, name: str, limits: QueueLimits) -> Queue: ...

    async def set_queue_paused(self, name: str, paused: bool) -> Queue: ...

    async def remove_queue(self, name: str) -> None: ...

    async def queues(self) -> list[Queue]: ...

    async def queue(self, name: str) -> Queue: ...

    async def paused_by_queue(self, name: str, marker: str) -> list[JobId]:
        """Return the queue's paused jobs whose last pause request carried `marker`."""
        ...


class Templates(TemplateReads, Protocol):
    """Saved job templates."""

    async def save_template(self, t: Template, *, replace: bool = False) -> Template: ...

    async def templates(self) -> list[Template]: ...

    async def remove_template(self, name: str) -> None: ...


class Retention(Purging, Protocol):
    """Deleting old finished jobs, and the file's size and VACUUM."""

    async def db_size(self) -> DbSize:
        """Return the database's size on disk (file and WAL) and what a VACUUM would reclaim."""
        ...

    async def vacuum(self) -> None:
        """Rewrite the database without its free pages (waits for the write lock up to the busy timeout)."""
        ...


class ApiRecords(EventPruning, Protocol):
    """What the HTTP API keeps: tokens (hashed), idempotency keys, the job event log, keyset pages (store/api.py)."""

    async def add_token(self, name: str, scope: str, token_hash: str) -> None:
        """Store a token's hash under a name (UsageError when the name is taken)."""
        ...

    async def tokens(self) -> list[TokenInfo]:
        """Return every token (hash, never the token), by name."""
        ...

    async def token_by_hash(self, token_hash: str) -> TokenInfo | None:
        """Return the token stored with this hash, if any."""
        ...

    async def remove_token(self, name: str) -> None:
        """Delete a token (UsageError when none has this name)."""
        ...

    async def touch_token(self, token_id: int, at_ms: int) -> None:
        """Record a token's last use."""
        ...

    async def add_job_once(
        self, owner: str, key: str | None, fingerprint: str, job: NewJob, *, source: str,
        prepare: Callable[[JobId], Awaitable[None]] | None = None,
    ) -> tuple[JobId, str, bool]:
        """Insert a job unless this owner's key was used; return (job id, stored fingerprint, created now).
        `prepare(job_id)` runs before the commit (a failure stores nothing)."""
        ...

    async def job_events(self, *, after_id: int = 0, limit: int = 1000, job_id: JobId | None = None) -> list[JobEvent]:
        """Return job events after `after_id`, in commit order."""
        ...

    async def event_bounds(self) -> tuple[int, int]:
        """Return (oldest kept event id - 1, newest event id)."""
        ...

    async def page_jobs(
        self, *, after_id: int = 0, limit: int = 100, before_id: int | None = None, newest_first: bool = False,
        since_ms: int | None = None, until_ms: int | None = None, **match: Unpack[JobMatch],
    ) -> list[Job]:
        """Return up to `limit` jobs after `after_id` (and before `before_id`) in id order (or newest first), filtered."""
        ...

    async def jobs_by_ids(self, job_ids: Iterable[JobId]) -> dict[JobId, Job]:
        """Return the jobs with these ids that exist."""
        ...

    async def oldest_queued_ms(self) -> int | None:
        """Return when the oldest queued job was created (None when none is queued)."""
        ...
