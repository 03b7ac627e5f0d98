"""The store contract of a runner's own work: its lease and claims, the group-committed writes of its jobs, its processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..model import (
    JobId,
    JobStatus,
    NotifyEvent,
    ProcessRecord,
    RunnerInfo,
    StageStatus,
)
from .done_items import DoneItems
from .values import Ahead, Claimed


class RunnerLeases(Protocol):
    """A runner's lease, its claims and the recovery of other runners' jobs."""

    async def register_runner(self, info: RunnerInfo, *, is_dead: Callable[[RunnerInfo], bool] | None = None) -> None:
        """Record a runner, its lease TTL and its first heartbeat; refuse a name a live runner has (RunnerNameTakenError)."""
        ...

    async def heartbeat(self, runner_id: str) -> bool:
        """Renew a runner's lease; False when its row is gone (its jobs were reclaimed)."""
        ...

    async def unregister_runner(self, runner_id: str) -> None:
        """Remove a runner that stopped cleanly."""
        ...

    async def stop_requested(self, runner_id: str) -> bool:
        """Tell whether someone asked this runner to stop (`jobtui runners stop`)."""
        ...

    async def recover(
        self, *, self_id: str, ttl_ms: int, is_dead: Callable[[RunnerInfo], bool]
    ) -> list[tuple[JobId, JobStatus, JobStatus]]:
        """Release the jobs of runners whose lease expired or whose process is dead."""
        ...

    async def claim(self, runner_id: str, limit: int, types: Iterable[str], ahead: Ahead | None = None
                    ) -> list[Claimed]:
        """Atomically take up to `limit` runnable jobs of `types` (priority, then age) whose needs the runner's tags cover;
        with `ahead`, commit the process rows of their first commands with them where it can (`Ahead`)."""
        ...

    def claim_soon(self, runner_id: str, limit: int, types: Iterable[str], ahead: Ahead | None = None
                   ) -> asyncio.Future[Any] | None:
        """Queue a claim to ride the next group commit after what is queued so far; its future holds the claimed
        jobs, or something else when nothing was claimed (None: claims do not ride on this backend)."""
        ...

    async def has_runnable(
        self, types: Iterable[str], *, due_by_ms: int | None = None, runner_id: str | None = None
    ) -> bool:
        """Tell whether any job of `types` is queued, waiting to retry or held by a runner (due by `due_by_ms`;
        with `runner_id`, a waiting job counts only when that runner has the tags it needs)."""
        ...

    async def next_due_ms(self, types: Iterable[str], *, runner_id: str | None = None) -> int | None:
        """Return when the earliest delayed or waiting job of `types` becomes runnable."""
        ...

    async def owned_requests(self, runner_id: str, *, expected: int | None = None) -> dict[JobId, JobStatus] | None:
        """Return the status of every job the runner holds (None: `expected` matched, nothing asked)."""
        ...

    async def release_ready(self) -> list[JobId]:
        """Queue every blocked job whose dependencies have all completed."""
        ...

    async def item_keys(self, job_id: JobId, stage_index: int) -> tuple[set[str], set[str]]:
        """Return the keys of the done and of the failed items of one stage."""
        ...


class RunnerWrites(Protocol):
    """Writes of running jobs: queued without I/O, committed together; `commit_point` makes them durable."""

    def stage_started(
        self, job_id: JobId, index: int, attempt: int, max_attempts: int, run: int | None = None, failures: int = 0,
        *, lazy: bool = False,
    ) -> None: ...

    def stage_state(self, job_id: JobId, index: int, state: Any) -> None: ...

    def file_tracked(self, job_id: JobId, index: int, path: str, size: int, sha256: str) -> None: ...

    def item_finished(
        self, job_id: JobId, index: int, key: str, ok: bool, result: Any, error: str | None, attempts: int
    ) -> None: ...

    def watch_stage_counters(self, job_id: JobId, index: int, read: Callable[[], tuple[int | None, int, int]]) -> None:
        """Queue: a stage's item counters, read when the next group commit takes its batch."""

    def items_done(self, job_id: JobId, index: int, items: DoneItems) -> None:
        """Queue: the rows of the items in `items` when the next group commit takes its batch (it empties `items`)."""

    def stage_finished(self, job_id: JobId, index: int, output: Any, *, note: str | None = None) -> None: ...

    def stage_stopped(
        self, job_id: JobId, index: int, status: StageStatus, error: str | None, next_attempt_at_ms: int | None = None
    ) -> None: ...

    def attempt_failed(
        self, job_id: JobId, index: int, attempt: int, error: str, transient: bool, *,
        failures: int | None = None, traceback: str | None = None,
    ) -> None: ...

    def job_completed(self, job_id: JobId, runner_id: str, total_steps: int) -> None: ...

    def job_failed(self, job_id: JobId, runner_id: str, stage: str, error: str, *, retry_at_ms: int | None) -> None: ...

    def job_paused(self, job_id: JobId, runner_id: str, reason: str) -> None: ...

    def job_cancelled(self, job_id: JobId, runner_id: str) -> None: ...

    def job_released(self, job_id: JobId, runner_id: str) -> None: ...

    def job_held(self, job_id: JobId, runner_id: str, reason: str) -> None:
        """Queue: the job is paused, but its runner keeps holding it (its stage waits in place)."""

    def job_unheld(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the runner lets go of a held job (paused, or resumed but not yet continued)."""

    def progress(
        self, job_id: JobId, done: int, total: int, message: str | None, items_done: int, items_failed: int,
        consecutive_failures: int,
    ) -> None: ...

    def watch_progress(self, job_id: JobId, read: Callable[[], tuple[int, int, str | None, int, int, int]]) -> None:
        """Queue: a job's progress and counters, read when the next group commit takes its batch."""

    def log(self, job_id: JobId, level: str, message: str, *, held: bool = True) -> None: ...

    def trim_logs(self, job_id: JobId, keep: int) -> None: ...

    def notify_event(self, job_id: JobId, event: NotifyEvent) -> None: ...

    async def commit_point(self) -> None:
        """Return once everything queued so far is committed (StoreError: it was dropped)."""
        ...

    @property
    def pending(self) -> int:
        """How many writes wait for the next group commit."""
        ...

    @property
    def batches(self) -> int:
        """How many batches the group commit took so far (writes queued while it stays the same join one)."""
        ...

    @property
    def stalled(self) -> bool:
        """Whether the last group commit met a passing condition and its writes wait to be retried."""
        ...


class Processes(Protocol):
    """Processes that command stages started, so that a later runner can end those a dead one left."""

    async def process_started(self, p: ProcessRecord) -> None:
        """Record a started process and commit it before returning."""
        ...

    def process_queued(self, p: ProcessRecord) -> None:
        """Queue: a started process's record, for the next group commit (not waited for)."""

    async def output_bytes(self, job_id: JobId) -> int:
        """Return the bytes of command output a job has logged in all its runs (0 for an unknown job)."""
        ...

    def watch_output(self, job_id: JobId, read: Callable[[], int]) -> None:
        """Queue: the bytes of output a job has logged, as `read` returns them when the next commit is taken."""

    def process_ended(self, job_id: JobId, index: int, slot: str, exit_code: int | None, *, keep: bool) -> None:
        """Queue: a process was reaped; keep its row (with the exit code) or drop it."""

    def process_unused(self, job_id: JobId, index: int, token: str) -> None:
        """Queue: drop the row a claim wrote ahead for a stage's first command (`Ahead`) that never started it."""

    def process_frozen(self, job_id: JobId, index: int, slot: str, frozen: bool) -> None:
        """Queue: a process was stopped (SIGSTOP) or continued."""

    async def processes(self, job_id: JobId, stage_index: int | None = None, *, alive: bool = False) -> list[ProcessRecord]:
        """Return the recorded processes of a job (of one stage; only those not known to have ended)."""
        ...

    async def forget_processes(self, job_id: JobId, records: Iterable[ProcessRecord]) -> None:
        """Mark processes as ended (found gone, or ended by a later runner): only rows not replaced since."""
        ...

    async def held_status(self, job_ids: list[JobId]) -> dict[JobId, tuple[JobStatus, str | None]]:
        """Return (status, lease_owner) of jobs (missing: they no longer exist)."""
        ...
