"""The store contract's reads: a job's detail, the TUI's list, everything the CLI and the TUI show (store/protocol.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol, Unpack

from ..listing import JobMatch, Listing
from ..model import (
    AttemptRecord,
    ItemRecord,
    Job,
    JobDetail,
    JobId,
    JobRef,
    LogLine,
    Notification,
    RequestRecord,
    RunnerInfo,
    Stats,
)


class DetailReads(Protocol):
    """A job's detail and log lines (the CLI, the TUI, the notifier's messages)."""

    async def get_detail(self, job_id: JobId) -> JobDetail:
        """Return one job with its stages, counters, files and dependencies."""
        ...

    async def logs(self, job_id: JobId, *, after_id: int = 0, limit: int = 1000, tail: bool = False) -> list[LogLine]:
        """Return a job's log lines after `after_id` (with `tail`, the last `limit`)."""
        ...


class ListingReads(Protocol):
    """What the TUI's job list reads at 100,000 jobs: a change token, counts, a window of rows, the runners."""

    async def change_token(self) -> tuple[int, int]:
        """Return a value that differs from the last one read whenever any change was committed since."""
        ...

    async def count_jobs(self, listing: Listing) -> int:
        """Return how many jobs the listing's filter matches."""
        ...

    async def window_jobs(self, listing: Listing, offset: int, limit: int) -> list[Job]:
        """Return the jobs at positions [offset, offset + limit) of the listing, in its order."""
        ...

    async def job_position(self, listing: Listing, job_id: JobId) -> int | None:
        """Return the position of a job in the listing (None when its filter does not match the job)."""
        ...

    async def matching_ids(self, listing: Listing, among: Iterable[JobId] | None = None) -> set[JobId]:
        """Return the ids of the jobs the listing's filter matches (only among `among` when given)."""
        ...

    async def job_changes(self, updated_after_ms: int) -> list[tuple[JobId, str, int]]:
        """Return (id, status, updated_at_ms) of the jobs updated after a time."""
        ...

    async def job_changes_after(self, seq: int) -> tuple[list[tuple[JobId, str, int]], int, bool] | None:
        """Return (id, status, updated_at_ms) of the jobs written after change number `seq`, the newest number and
        whether every write after `seq` is still logged (None where writes are not numbered in commit order)."""
        ...

    async def change_seq(self) -> int | None:
        """Return the newest change number (None where writes are not numbered)."""
        ...

    async def status_counts(self) -> dict[str, int]:
        """Return the number of jobs in each status."""
        ...

    async def unsettled_statuses(self) -> dict[JobId, str]:
        """Return the status of every job not in a terminal status."""
        ...

    async def runners(self) -> list[RunnerInfo]:
        """Return every registered runner, with its name and tags."""
        ...


class JobReads(DetailReads, ListingReads, Protocol):
    """Reads for the CLI and the TUI."""

    async def get_job(self, job_id: JobId) -> Job:
        """Return one job (JobNotFoundError if none has this id)."""
        ...

    async def list_jobs(
        self, *, limit: int | None = None, updated_after_ms: int | None = None, newest_first: bool = False,
        **match: Unpack[JobMatch],
    ) -> list[Job]:
        """Return jobs by id, filtered by status, type, change time, unique key, current stage name and labels."""
        ...

    def iter_jobs(
        self,
        *,
        statuses: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        newest: int | None = None,
        page: int = 1000,
    ) -> AsyncIterator[Job]:
        """Yield jobs oldest first, a page at a time (only the `newest` N when given)."""
        ...

    async def job_ids(self) -> set[JobId]:
        """Return the ids of every job."""
        ...

    async def job_ids_signature(self) -> tuple[int, int, int]:
        """Return (count, max id, sum of ids) of the jobs: cheap to read, and it changes when a job is deleted."""
        ...

    async def stats(self, *, runner_ttl_ms: int = 30_000) -> Stats:
        """Return counts by status and type, item totals and live runners."""
        ...

    async def all_logs(self, *, after_id: int = 0, limit: int = 1000, tail: bool = False) -> list[LogLine]:
        """Return every job's log lines after `after_id`, in order (with `tail`, the last `limit`)."""
        ...

    def items(self, job_id: JobId, *, chunk: int = 5000) -> AsyncIterator[ItemRecord]:
        """Yield every stored item outcome of a job, by stage then key."""
        ...

    async def item_results(self, job_id: JobId, stage_index: int) -> dict[str, Any]:
        """Return the results of the done items of one stage, by key."""
        ...

    async def attempt_errors(self, job_id: JobId) -> list[AttemptRecord]:
        """Return every failed attempt of a job's stages, by stage then attempt."""
        ...

    async def requests(self, job_id: JobId) -> list[RequestRecord]:
        """Return the audit trail of a job: each request and recovery, who and when, oldest first."""
        ...

    async def job_labels(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[tuple[str, str], ...]]:
        """Return, for each job that has any, its labels (key, value) sorted by key."""
        ...

    async def job_needs(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[str, ...]]:
        """Return, for each of `job_ids` that needs any, the tags a runner must have to claim it (sorted)."""
        ...

    async def held_jobs(self) -> dict[str, tuple[JobId, ...]]:
        """Return the jobs each runner holds (running, or paused with its stage held), by runner id."""
        ...

    async def waiting_on(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[JobRef, ...]]:
        """Return, per job that has any, the dependencies that have not completed."""
        ...

    async def notifications(self, job_id: JobId) -> tuple[Notification, ...]:
        """Return the notifications of a job."""
        ...
