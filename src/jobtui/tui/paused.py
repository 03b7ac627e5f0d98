"""Paused time: elapsed time leaves out the intervals a job spent paused, read from its history of requests.

A pause starts at the pause request (`p`, `jobtui pause`) and ends at the request that moves the job on
from paused (resume, cancel, fail, retry...). An auto-pause (failures in a row) has its own history row,
written by the runner that paused the job. The pause going on now needs no history: a paused job's
elapsed time stops at its `paused_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from ..client import Client
from ..errors import JobtuiError
from ..model import Job, JobId, JobStatus, RequestRecord

_PAUSING = frozenset({"pausing", "paused"})
KEEP = 5_000
"""Jobs whose paused time is remembered (then the memory starts over)."""
BATCH = 40
"""Histories read per pass (about a screen of rows)."""


def paused_ms(history: Iterable[RequestRecord], started_at_ms: int | None) -> int:
    """Return the milliseconds spent in pauses that have ended, counted from the job's first start."""
    if started_at_ms is None:
        return 0
    total = 0
    start: int | None = None
    for h in history:
        if h.from_status == "paused" and h.to_status not in _PAUSING:
            if start is not None:
                total += max(0, h.ts_ms - max(start, started_at_ms))
            start = None
        elif h.to_status in _PAUSING:
            start = h.ts_ms if start is None else start
        elif h.from_status == "pausing":
            start = None  # cancelled or failed before it reached a safe point: it never paused
    return total


def may_have_paused(job: Job) -> bool:
    """Tell whether a job may have a pause behind it (resumed, or ended after one): only those are read."""
    return job.started_at_ms is not None and (
        job.resume_count > 0 or job.status in (JobStatus.CANCELLED, JobStatus.FAILED))


class PausedTimes:
    """The paused time of the jobs the list shows, read once per job and state, off the drawing path."""

    def __init__(self, client: Client, *, on_change: Callable[[], object],
                 spawn: Callable[[Coroutine[Any, Any, None]], object]) -> None:
        self.client = client
        self.on_change = on_change
        """Told when a job's paused time is known (to redraw the rows)."""
        self.spawn = spawn
        self._known: dict[JobId, tuple[tuple[int, str], int]] = {}
        self._wanted: dict[JobId, Job] = {}
        self._reading = False

    def __call__(self, job: Job) -> int:
        """Return the job's paused time as known now; read it soon if its state changed since."""
        if not may_have_paused(job):
            return 0
        key = (job.resume_count, job.status.value)
        known = self._known.get(job.job_id)
        if known is not None and known[0] == key:
            return known[1]
        if job.job_id not in self._wanted:
            self._wanted[job.job_id] = job
            if not self._reading:
                self._reading = True
                self.spawn(self._read())
        return known[1] if known is not None else 0

    def learn(self, job: Job, history: Iterable[RequestRecord]) -> int:
        """Remember a job's paused time from a history read elsewhere (the detail pane's); return it."""
        if len(self._known) >= KEEP:
            self._known.clear()
        ms = paused_ms(history, job.started_at_ms)
        self._known[job.job_id] = ((job.resume_count, job.status.value), ms)
        return ms

    async def _read(self) -> None:
        changed = False
        try:
            while self._wanted:
                batch = list(self._wanted.values())[:BATCH]
                for job in batch:
                    self._wanted.pop(job.job_id, None)
                    try:
                        history = await self.client.history(job.job_id)
                    except JobtuiError:
                        continue
                    before = self._known.get(job.job_id)
                    ms = self.learn(job, history)
                    changed |= before is None or before[1] != ms
        finally:
            self._reading = False
        if changed:
            self.on_change()
