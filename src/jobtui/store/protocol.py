"""The Store contract: what the runner, its services and the client may ask of a store.

Every backend (SQLite today, PostgreSQL for fleets) implements `JobStore`; the engine and the
client are typed against it or, for a runner's services, against the few members each one uses
(store/consumers.py: `SchedulerStore`, `RetentionStore`, `NotifierStore`, `LifeStore`, `LeaseStore`,
`ProcessStore`, `ListingStore`), never against a backend's class; tests/contract/ runs one suite
against each backend. The contract is split by who uses it, one module per side:

* store/protocol_reads.py    `DetailReads`, `ListingReads`, `JobReads`: what the CLI and the TUI read
* store/protocol_admin.py    `JobControl` (submission and a person's requests, one transaction each),
                             `Schedules`, `Queues`, `Templates`, `Retention`, `ApiRecords`
* store/protocol_runner.py   `RunnerLeases` (lease, claims, recovery), `RunnerWrites` (the group-committed
                             writes of running jobs: queued with no I/O; `await commit_point()` makes
                             them durable), `Processes` (command stages' processes, held jobs)
* store/protocol_services.py `Notifications`, `ScheduleFiring`, `LifeNotices`, `TemplateReads`, `Purging`,
                             `EventPruning`: what a runner's services use
* `JobStore` (here)          all of them, plus identity, lifetime and the shared knobs

The records these take and return are plain data classes in store/values.py (no SQL, no driver);
none of these modules imports a driver (an import-linter contract). No member is there for tests
only (tests/contract/test_protocol.py): the reads only tests make are in tests/store_inspect.py, and
the stores' own `integrity_check` and `stage_counters` are not part of the contract.

Promises every backend keeps (the contract suite checks them): a claim hands a job to one runner
only; a job's end applies only while the runner holds its lease; writes queued together commit in
rank order (see store/base.py `R_*`), keyed writes keep their last value; while `fence` is set, a
group commit writes nothing for a job its runner no longer holds and says so through `on_dropped`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..kinds import StopKind
from ..model import JobId
from .protocol_admin import ApiRecords, JobControl, Queues, Retention, Schedules, Templates
from .protocol_reads import DetailReads, JobReads, ListingReads
from .protocol_runner import Processes, RunnerLeases, RunnerWrites
from .protocol_services import EventPruning, LifeNotices, Notifications, Purging, ScheduleFiring, TemplateReads


class JobStore(JobReads, JobControl, RunnerLeases, RunnerWrites, Processes, Notifications, Schedules, Retention,
               ApiRecords, Queues, Templates, LifeNotices, Protocol):
    """A store of any backend: the whole contract, with its identity, lifetime and shared knobs."""

    clock: Callable[[], int]
    """Epoch ms of the store's clock, for times the engine computes (retry delays); leases use it too."""
    fence: str | None
    """A runner id: while set, a group commit writes for a job only while that runner holds it."""
    on_dropped: Callable[[set[JobId], StopKind, str], None] | None
    """Told the jobs whose queued writes were dropped, why (LOST: another runner holds them; STORE: the database
    refused them for good, only theirs) and the database's error."""
    on_wake: Callable[[], None] | None
    """Told when another process submits or steers jobs (PostgreSQL's LISTEN; SQLite never calls it)."""
    notify_defaults: tuple[tuple[str, str], ...]
    """Where every job's ends are told besides its own targets (the runner's defaults)."""
    commits: int
    """Group commits made (benchmarks)."""

    @property
    def location(self) -> str:
        """Where the data is, fit to show (a file path; never a password)."""
        ...

    @property
    def workspace_root(self) -> Path:
        """The folder that holds the jobs' workspaces (an option; SQLite's default is beside the file)."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether a StoreError (or its cause) is a passing condition (busy, locked, full, server gone)."""
        ...

    async def reopen(self) -> JobStore:
        """Open one more store (its own connection) on the same database, with the same options."""
        ...

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Commit what is queued (within `timeout_s`) and close."""
        ...


__all__ = [
    "ApiRecords", "DetailReads", "EventPruning", "JobControl", "JobReads", "JobStore", "LifeNotices", "ListingReads",
    "Notifications", "Processes", "Purging", "Queues", "Retention", "RunnerLeases", "RunnerWrites", "ScheduleFiring",
    "Schedules", "TemplateReads", "Templates",
]
