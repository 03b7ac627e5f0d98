"""Retention in the runner: delete finished jobs older than `--keep`, a batch at a time, every few minutes.

It runs beside the runner's loop as a supervised task: a failure (a busy database, a full disk) is
logged and retried at the next turn, and never touches a running job. Which jobs may go is the
store's rule (store/retention.py): ended, old enough, and no unfinished job depends on them.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Collection
from pathlib import Path

from ..apimodel import EVENTS_KEEP, EVENTS_KEEP_MS
from ..model import JobId, JobStatus
from ..store import RetentionStore
from .waiting import wait_set

log = logging.getLogger("jobtui.retention")

DEFAULT_KEEP_MS = 90 * 86_400_000
"""Finished jobs are kept 90 days unless `jobtui run --keep` says otherwise."""
PERIOD_S = 300.0
"""How often a runner looks for old jobs (and once when it starts)."""


async def purge_old_jobs(store: RetentionStore, keep_ms: int, workspace_root: Path, *, batch: int = 100,
                         stopping: asyncio.Event | None = None,
                         statuses: Collection[JobStatus] | None = None) -> list[JobId]:
    """Delete every finished job last updated more than `keep_ms` ago, in small transactions; return their ids.

    `statuses` (`jobtui clean --status`): delete jobs of these statuses instead of the ended ones.

    Each job's items and logs go in chunks first, then up to `batch` jobs per transaction, each step
    re-checking the job's status and age; workspaces are removed off the event loop afterwards.
    """
    deleted: list[JobId] = []
    seen: set[JobId] = set()
    while stopping is None or not stopping.is_set():
        cutoff = store.clock() - keep_ms
        ids = [i for i in await store.old_job_ids(cutoff, limit=batch, statuses=statuses) if i not in seen]
        if not ids:
            break
        seen.update(ids)
        for job_id in ids:
            # Not a wait for a condition: each turn deletes a chunk, then yields so the runner's writes get in between.
            while await store.purge_rows(job_id, cutoff, statuses=statuses) > 0:  # noqa: ASYNC110
                await asyncio.sleep(0)
        gone = await store.delete_old_jobs(ids, cutoff, statuses)
        for job_id in gone:
            await asyncio.to_thread(shutil.rmtree, workspace_root / str(job_id), True)
        deleted.extend(gone)
        await asyncio.sleep(0)
    return deleted


class Retention:
    """Deletes old finished jobs of one database every `period_s`, for one runner."""

    def __init__(self, store: RetentionStore, keep_ms: int, workspace_root: Path, *, period_s: float = PERIOD_S,
                 events_keep: int = EVENTS_KEEP) -> None:
        self.store = store
        self.events_keep = events_keep
        self.keep_ms = keep_ms
        self.workspace_root = workspace_root
        self.period_s = period_s
        self._stop = asyncio.Event()
        self.deleted = 0
        """Jobs this runner deleted, for tests and logs."""

    def stop(self) -> None:
        """Make run() return at its next turn (it is never cancelled: it may be inside a transaction)."""
        self._stop.set()

    async def run(self) -> None:
        """Purge once now, then every `period_s`, until stop()."""
        while not self._stop.is_set():
            try:
                ids = await purge_old_jobs(self.store, self.keep_ms, self.workspace_root, stopping=self._stop)
                if ids:
                    self.deleted += len(ids)
                    log.info("retention: deleted %d finished job(s) older than %ds", len(ids), self.keep_ms // 1000)
                # The job event log (written by triggers, read by `jobtui serve`'s streams) stays bounded
                # even where no server runs to prune it.
                await self.store.prune_events(self.store.clock() - EVENTS_KEEP_MS, keep=self.events_keep)
            except Exception as e:
                log.warning("retention: %s; trying again in %gs", e, self.period_s)
            await wait_set(self._stop, self.period_s)
