"""What each consumer of the store depends on: a Protocol of the few members it uses, nothing more.

A runner's services are typed against these, not against the whole `JobStore` (store/protocol.py):
the scheduler can only read due schedules and fire them, retention only purge, the notifier only
drain the outbox and read a job's detail, the lease keeper only renew, the TUI's list only count and
read windows. Any store that keeps the whole contract keeps each of these (mypy --strict checks every
call site), and a test double for one service needs only that service's few members.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..kinds import StopKind
from ..model import JobId
from .protocol_reads import DetailReads, ListingReads
from .protocol_runner import Processes, RunnerLeases, RunnerWrites
from .protocol_services import EventPruning, LifeNotices, Notifications, Purging, ScheduleFiring, TemplateReads


class Clocked(Protocol):
    """A store's clock (epoch ms; on PostgreSQL, the server's)."""

    clock: Callable[[], int]
    """Epoch ms of the store's clock."""


class SchedulerStore(Clocked, ScheduleFiring, TemplateReads, Protocol):
    """The scheduler (engine/scheduler.py): due schedules, their templates, one firing per occurrence."""


class RetentionStore(Clocked, Purging, EventPruning, Protocol):
    """Retention (engine/retention.py): old finished jobs deleted in small transactions, old API events pruned."""


class LifeStore(Clocked, LifeNotices, Protocol):
    """The `--notify-on` moments finder (engine/life_events.py)."""


class NotifierStore(LifeStore, Notifications, DetailReads, Protocol):
    """The notifier (engine/notify.py): the outbox, the detail and last log lines a message carries, and the
    `--notify-on` moments it finds (its LifeEvents)."""


class ProcessStore(Clocked, Processes, Protocol):
    """Command stages' processes (engine/process.py): recorded, ended, frozen, found again after a crash."""


class ListingStore(Clocked, ListingReads, Protocol):
    """The TUI's job list and the runners view (client/listing.py): change token, counts, windows, runners."""


class LeaseStore(Protocol):
    """The lease keeper (engine/lease_keeper.py): heartbeats on a connection of its own."""

    async def heartbeat(self, runner_id: str) -> bool:
        """Renew a runner's lease; False when its row is gone (its jobs were reclaimed)."""
        ...

    async def reopen(self) -> LeaseStore:
        """Open one more store (its own connection) on the same database."""
        ...

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Close it."""
        ...


class RunnerStore(NotifierStore, SchedulerStore, RetentionStore, ProcessStore, RunnerLeases, RunnerWrites, Protocol):
    """The runner (engine/runner.py) and what runs its jobs (engine/jobrun.py, execution.py, context.py, items.py,
    control.py): its lease, claims and recovery, the group-committed writes and their hooks, command stages'
    processes, and what its services get (the notifier, scheduler, retention and lease keeper stores)."""

    fence: str | None
    """A runner id: while set, a group commit writes for a job only while that runner holds it."""
    on_dropped: Callable[[set[JobId], StopKind, str], None] | None
    """Told the jobs whose queued writes were dropped, why and the database's error."""
    on_wake: Callable[[], None] | None
    """Told when another process submits or steers jobs (PostgreSQL's LISTEN)."""
    notify_defaults: tuple[tuple[str, str], ...]
    """Where every job's ends are told besides its own targets."""

    @property
    def workspace_root(self) -> Path:
        """The folder that holds the jobs' workspaces."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether a StoreError (or its cause) is a passing condition."""
        ...

    async def item_results(self, job_id: JobId, stage_index: int) -> dict[str, Any]:
        """Return the results of the done items of one stage, by key (`ctx.results()`, a replayed stage)."""
        ...

    async def reopen(self) -> LeaseStore:
        """Open one more store (its own connection) on the same database (the lease keeper's)."""
        ...

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Commit what is queued and close."""
        ...
