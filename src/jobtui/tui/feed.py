"""JobFeed: the TUI's in-memory copy of the jobs, kept fresh by incremental reads through the Client.

Each poll reads only the jobs updated since the newest change seen, minus an overlap: other
processes stamp `updated_at_ms` with their own clocks, and a commit may land after a later stamp.
Deleted jobs are noticed at each poll by a signature of the ids (count, max, sum: one cheap aggregate
read), and then found by comparing the set of ids, which is cheap even for 10,000 jobs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from ..client import Client
from ..errors import JobNotFoundError
from ..model import Job, JobId

OVERLAP_MS = 2_000
"""How far behind the newest change seen each poll reads again."""
SETTLE_S = 2.0
"""Once the newest change seen is this old (by our monotonic clock), late commits have landed: stop re-reading."""


@dataclass(slots=True)
class Delta:
    """What one poll found: changed or new jobs (with their previous version) and deleted ids."""

    changed: dict[JobId, Job | None] = field(default_factory=dict)
    removed: set[JobId] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed)

    def merge(self, other: Delta) -> None:
        """Fold a later delta into this one."""
        for job_id, before in other.changed.items():
            self.changed.setdefault(job_id, before)
        for job_id in other.removed:
            self.changed.pop(job_id, None)
        self.removed |= other.removed


class JobFeed:
    """Every job of the database, by id, with counts by status."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.jobs: dict[JobId, Job] = {}
        self.counts: Counter[str] = Counter()
        self.watermark: int | None = None
        """The newest `updated_at_ms` seen."""
        self._moved_at = 0.0
        """When (time.monotonic) the watermark last moved."""
        self._id_sum = 0
        """The sum of the ids in `jobs` (kept up to date: part of the signature compared at each poll)."""
        self.polls = 0
        self.rows_read = 0
        """Rows the last poll read (for the benchmark and the tests)."""

    async def load(self) -> Delta:
        """Read every job (the first time, or to start over)."""
        jobs = await self.client.list_jobs()
        delta = Delta()
        fresh = {j.job_id: j for j in jobs}
        for job_id in self.jobs.keys() - fresh.keys():
            delta.removed.add(job_id)
        for job in jobs:
            before = self.jobs.get(job.job_id)
            if before != job:
                delta.changed[job.job_id] = before
        # Update in place: widgets hold a reference to this mapping.
        self.jobs.clear()
        self.jobs.update(fresh)
        self.counts = Counter(j.status.value for j in jobs)
        self._id_sum = sum(fresh)
        self.watermark = max((j.updated_at_ms for j in jobs), default=0)
        self._moved_at = time.monotonic()
        return delta

    async def poll(self, *, check_deletions: bool = False) -> Delta:
        """Read what changed since the last poll; with `check_deletions`, also find deleted and missed jobs."""
        if self.watermark is None:
            return await self.load()
        self.polls += 1
        # Re-read the overlap only while a late commit could still land; when nothing changes,
        # a poll then reads no row at all.
        settled = time.monotonic() - self._moved_at >= SETTLE_S
        rows = await self.client.list_jobs(updated_after_ms=self.watermark - (0 if settled else OVERLAP_MS))
        self.rows_read = len(rows)
        delta = self.apply(rows)
        if not check_deletions:
            # A deletion changes no row that is left: only the ids' signature shows it.
            check_deletions = await self.client.job_ids_signature() != self.signature()
        if check_deletions:
            ids = await self.client.job_ids()
            gone = self.jobs.keys() - ids
            for job_id in gone:
                self._remove(job_id)
            delta.removed |= gone
            missed = ids - self.jobs.keys()
            for job_id in missed:
                # A job stamped far behind our watermark (another process's clock): read it directly.
                try:
                    delta.merge(self.apply([await self.client.job(job_id)]))
                except JobNotFoundError:
                    continue  # deleted between the two reads
        return delta

    def signature(self) -> tuple[int, int, int]:
        """Return (count, max id, sum of ids) of the jobs held, as `Client.job_ids_signature` does for the database."""
        jobs = self.jobs
        return len(jobs), max(jobs, default=0), self._id_sum

    def apply(self, rows: list[Job]) -> Delta:
        """Take newer versions of jobs into the feed; return what changed."""
        delta = Delta()
        jobs = self.jobs
        counts = self.counts
        mark = self.watermark or 0
        for job in rows:
            before = jobs.get(job.job_id)
            mark = max(mark, job.updated_at_ms)
            if before is not None:
                stamp = before.updated_at_ms
                if stamp > job.updated_at_ms or (stamp == job.updated_at_ms and before == job):
                    continue  # an older read than what we hold, or unchanged (a newer stamp is a change)
                counts[before.status.value] -= 1
            else:
                self._id_sum += job.job_id
            jobs[job.job_id] = job
            counts[job.status.value] += 1
            delta.changed[job.job_id] = before
        if mark != self.watermark:
            self.watermark = mark
            self._moved_at = time.monotonic()
        return delta

    def forget(self, job_id: JobId) -> Delta:
        """Drop a job we know was deleted."""
        delta = Delta()
        if job_id in self.jobs:
            self._remove(job_id)
            delta.removed.add(job_id)
        return delta

    def _remove(self, job_id: JobId) -> None:
        job = self.jobs.pop(job_id)
        self.counts[job.status.value] -= 1
        self._id_sum -= job_id
