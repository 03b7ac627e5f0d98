"""ListingControl: what the TUI's list reads at 100,000 jobs: a change token, counts and a window of rows."""

from __future__ import annotations

from collections.abc import Iterable

from ..engine.lease import runner_process_gone
from ..fleet import DEFAULT_TTL_MS, RunnerHealth, health
from ..listing import Listing
from ..model import Job, JobId, RunnerInfo
from ..store import ListingStore
from .core import ClientCore


class ListingControl(ClientCore):
    """Count and read a window of a filtered, ordered job list; tell cheaply whether anything changed."""

    @property
    def reads(self) -> ListingStore:
        """The store, as the list depends on it: the few reads of store/consumers.py `ListingStore`."""
        return self.store

    async def change_token(self) -> tuple[int, int]:
        """Return a value that differs from the last one read whenever anything was committed since (cheap)."""
        return await self.reads.change_token()

    async def count_jobs(self, listing: Listing) -> int:
        """Return how many jobs a listing's filter matches."""
        return await self.reads.count_jobs(listing)

    async def window_jobs(self, listing: Listing, offset: int, limit: int) -> list[Job]:
        """Return the jobs at positions [offset, offset + limit) of a listing, in its order."""
        return await self.reads.window_jobs(listing, offset, limit)

    async def job_position(self, listing: Listing, job_id: JobId) -> int | None:
        """Return a job's position in a listing (None when the listing's filter leaves it out)."""
        return await self.reads.job_position(listing, job_id)

    async def matching_ids(self, listing: Listing, among: Iterable[JobId] | None = None) -> set[JobId]:
        """Return the ids of the jobs a listing's filter matches (only among `among` when given)."""
        return await self.reads.matching_ids(listing, among)

    async def job_changes(self, updated_after_ms: int) -> list[tuple[JobId, str, int]]:
        """Return (id, status, updated_at_ms) of the jobs updated after a time."""
        return await self.reads.job_changes(updated_after_ms)

    async def job_changes_after(self, seq: int) -> tuple[list[tuple[JobId, str, int]], int, bool] | None:
        """Return (id, status, updated_at_ms) of the jobs written after change number `seq`, the newest number and
        whether every write after `seq` is still logged; None where writes are not numbered in commit order (then
        read by stamp: `job_changes`)."""
        return await self.reads.job_changes_after(seq)

    async def change_seq(self) -> int | None:
        """Return the newest change number (None where writes are not numbered)."""
        return await self.reads.change_seq()

    async def status_counts(self) -> dict[str, int]:
        """Return the number of jobs in each status."""
        return await self.reads.status_counts()

    async def unsettled_statuses(self) -> dict[JobId, str]:
        """Return the status of every job not in a terminal status."""
        return await self.reads.unsettled_statuses()

    async def alive_runners(self, *, ttl_ms: int = DEFAULT_TTL_MS) -> list[RunnerInfo]:
        """Return the runners `jobtui runners` calls alive (one small read: no counts, unlike `stats()`).

        The same rule as there (fleet.health): a fresh heartbeat, and on this host a process that still
        exists; a SIGKILLed runner is gone at once, not after its heartbeat ages (issue 15, item 14).
        """
        now = self.reads.clock()
        return [r for r in await self.reads.runners()
                if health(r, now, gone=runner_process_gone(r), ttl_ms=ttl_ms) is RunnerHealth.ALIVE]
