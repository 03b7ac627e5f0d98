"""The store contract of a runner's services: notifications, schedules firing, `--notify-on` moments, retention."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from ..model import (
    JobId,
    JobStatus,
    Notification,
    Schedule,
    ScheduleRun,
)
from ..templates import Template
from .values import NewJob, Watched


class Notifications(Protocol):
    """The notification outbox, drained by runners."""

    async def claim_notifications(
        self, runner_id: str, limit: int, lease_ms: int, kinds: Sequence[str] = ("url", "cmd")
    ) -> list[Notification]: ...

    async def next_notification_ms(self) -> int | None: ...

    async def database_id(self) -> str:
        """Return the database's identity (random, made once): it makes notification keys unique across databases."""
        ...

    async def notification_sent(self, notification_id: int, runner_id: str, attempts: int) -> None: ...

    async def notification_failed(
        self, notification_id: int, runner_id: str, attempts: int, error: str, retry_at_ms: int | None
    ) -> None: ...

    async def defer_notifications(self, notification_ids: Sequence[int], runner_id: str, next_at_ms: int) -> None: ...


class ScheduleFiring(Protocol):
    """What a runner's scheduler asks: which schedules are due, and one firing per occurrence."""

    async def next_schedule_ms(self) -> int | None: ...

    async def due_schedules(self, now_ms: int) -> list[Schedule]: ...

    async def fire_schedule(
        self, s: Schedule, *, occurrence_ms: int, missed: int, next_at_ms: int, job: NewJob | None,
        error: str | None, runner_id: str, source: str = "schedule",
    ) -> ScheduleRun | None:
        """Record one occurrence and submit its job in one transaction; None when another runner did it first."""
        ...


class LifeNotices(Protocol):
    """The moments of a job told beside its end (`--notify-on`): found by a runner's notifier, queued in the outbox."""

    async def last_job_event(self) -> int: ...

    async def life_events(self, after_id: int, limit: int = 500) -> list[tuple[int, JobId, int, str, str]]: ...

    async def watched_jobs(self, runner_id: str) -> list[Watched]: ...

    async def notify_on(self, job_id: JobId) -> tuple[str, ...]: ...

    async def tell(self, job_id: JobId, event: str, event_at_ms: int) -> int: ...


class TemplateReads(Protocol):
    """One saved template by name (a schedule's job is made from it at each firing)."""

    async def get_template(self, name: str) -> Template: ...


class Purging(Protocol):
    """Deleting old finished jobs in small transactions (store/retention.py)."""

    async def old_job_ids(self, cutoff_ms: int, *, limit: int = 100,
                          statuses: Collection[JobStatus] | None = None) -> list[JobId]:
        """Return up to `limit` ended jobs (of `statuses` if given) updated before `cutoff_ms` that no unfinished job depends on."""
        ...

    async def purge_rows(self, job_id: JobId, cutoff_ms: int, *, chunk: int = 2_000,
                         statuses: Collection[JobStatus] | None = None) -> int:
        """Delete up to `chunk` items, then log lines, of one such job in one transaction; return how many."""
        ...

    async def delete_old_jobs(self, job_ids: list[JobId], cutoff_ms: int,
                              statuses: Collection[JobStatus] | None = None) -> list[JobId]:
        """Delete those of `job_ids` still old enough (re-checked), in one transaction; return them."""
        ...


class EventPruning(Protocol):
    """Trimming the API's job event log."""

    async def prune_events(self, before_ms: int, *, keep: int) -> int:
        """Delete events older than `before_ms` beyond the newest `keep`; return how many."""
        ...
