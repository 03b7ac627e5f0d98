"""Find the moments of jobs told beside their ends (`--notify-on started,progress,retrying`; issue 21 item 6).

A runner's notifier calls `LifeEvents.look()` at each of its rounds (about once a second). It reads the
job events committed since its last look (a job starting, or failing with an automatic retry to come)
and this runner's running jobs that want progress or retrying, and queues their outbox rows
(store/life.py). Progress is throttled here (jobtui/notify_on.py `progress_due`): at most one event per
10 % step, or one a minute while a job moves more slowly. What it remembers of progress is in memory:
a relaunched runner may tell a job's progress once more.
"""

from __future__ import annotations

import logging

from ..errors import StoreError
from ..model import JobId, JobStatus
from ..notify_on import EVENT_OF_STATUS, progress_due
from ..store import LifeStore

log = logging.getLogger("jobtui.notify")


class LifeEvents:
    """One runner's look at the moments to tell."""

    def __init__(self, store: LifeStore, runner_id: str) -> None:
        self.store = store
        self.runner_id = runner_id
        self._cursor: int | None = None
        """The last job event looked at (None: not yet read; the first look starts at the newest)."""
        self._progress: dict[JobId, tuple[int, int, float]] = {}
        """Per job: the step, time and percent of the last progress told."""
        self.told = 0
        """Moments queued (outbox rows inserted), for tests."""

    async def begin(self) -> None:
        """Start looking at the job events committed from now on (the first look otherwise starts at its own now)."""
        if self._cursor is None:
            try:
                self._cursor = await self.store.last_job_event()
            except StoreError as e:
                log.warning("notifications: %s", e)  # the first look reads it

    async def look(self) -> int:
        """Queue the moments to tell since the last look; return how many rows were queued."""
        now = self.store.clock()
        queued = 0
        if self._cursor is None:
            self._cursor = await self.store.last_job_event()
        for event_id, job_id, ts_ms, to_status, notify_on in await self.store.life_events(self._cursor):
            self._cursor = event_id
            event = EVENT_OF_STATUS[JobStatus(to_status)]
            if event in notify_on.split(","):
                queued += await self.store.tell(job_id, event, ts_ms)
        seen: set[JobId] = set()
        for w in await self.store.watched_jobs(self.runner_id):
            seen.add(w.job_id)
            wants = w.notify_on.split(",")
            if "retrying" in wants and w.retry_at_ms is not None:
                queued += await self.store.tell(w.job_id, "retrying", w.retry_at_ms)
            if "progress" in wants and progress_due(w.percent, self._progress.get(w.job_id), now):
                self._progress[w.job_id] = (int(w.percent // 10), now, w.percent)
                queued += await self.store.tell(w.job_id, "progress", now)
        for gone in set(self._progress) - seen:
            del self._progress[gone]
        self.told += queued
        return queued
