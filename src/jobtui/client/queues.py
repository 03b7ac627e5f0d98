"""QueueControl: queues and their limits, which every runner's claim applies (store/queues.py)."""

from __future__ import annotations

from ..errors import InvalidTransitionError, UsageError
from ..model import QUEUE_PAUSED_REASON, Action, JobId, JobStatus, Queue, QueueLimits
from ..model.queues import MAX_LIMIT
from .core import ClientCore


def check_limits(limits: QueueLimits) -> QueueLimits:
    """Return limits that make sense together, else raise UsageError."""
    for what, value in (("--concurrency", limits.concurrency), ("--per-runner", limits.per_runner)):
        if value is not None and not 1 <= value <= MAX_LIMIT:
            raise UsageError(f"{what} must be 1 to {MAX_LIMIT}")
    if (limits.rate_count is None) != (limits.rate_window_ms is None):
        raise UsageError("a rate needs both a count and a window (--rate N/DURATION)")
    if limits.slots and limits.slot_count is None:
        raise UsageError("--slots numbers the jobs within --concurrency or --per-runner: give one of them")
    return limits


class QueueControl(ClientCore):
    """Create, change, pause and remove queues; read them with their counts."""

    async def add_queue(self, name: str, limits: QueueLimits) -> Queue:
        """Create a queue (UsageError for a bad name, bad limits, or a name in use)."""
        return await self.store.add_queue(name, check_limits(limits))

    async def edit_queue(self, name: str, limits: QueueLimits) -> Queue:
        """Replace a queue's limits; the next claims apply them (running jobs finish)."""
        queue = await self.store.edit_queue(name, check_limits(limits))
        self._wake()
        return queue

    async def queues(self) -> list[Queue]:
        """Return every queue with its jobs counted by status."""
        return await self.store.queues()

    async def queue(self, name: str) -> Queue:
        """Return one queue (UsageError if none has this name)."""
        return await self.store.queue(name)

    async def pause_queue(self, name: str, *, now: bool = False) -> tuple[Queue, list[JobId]]:
        """Stop runners claiming the queue's jobs; with `now`, also pause its running jobs. Return it and those."""
        queue = await self.store.set_queue_paused(name, True)
        paused: list[JobId] = []
        if now:
            marker = QUEUE_PAUSED_REASON.format(name=name)
            for job in await self.store.list_jobs(statuses=[JobStatus.RUNNING.value], queue=name):
                try:
                    await self.control(job.job_id, Action.PAUSE, reason=marker)
                except InvalidTransitionError:
                    continue  # it ended (or was steered) meanwhile
                paused.append(job.job_id)
        return queue, paused

    async def resume_queue(self, name: str) -> tuple[Queue, list[JobId]]:
        """Let runners claim the queue's jobs again, and resume those `pause_queue(now=True)` paused."""
        queue = await self.store.set_queue_paused(name, False)
        resumed: list[JobId] = []
        for job_id in await self.store.paused_by_queue(name, QUEUE_PAUSED_REASON.format(name=name)):
            try:
                await self.control(job_id, Action.RESUME)
            except InvalidTransitionError:
                continue
            resumed.append(job_id)
        self._wake()
        return queue, resumed

    async def remove_queue(self, name: str) -> None:
        """Remove a queue no job names any more."""
        await self.store.remove_queue(name)
