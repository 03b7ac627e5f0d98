"""JobRun: the in-memory state of one job while a runner holds it (safe points, holds, queued writes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..errors import StoreError
from ..kinds import RunnerEvent, Stop, StopKind
from ..model import JobId, Secrets, scrub, secret_values
from ..store import Claimed, RunnerStore, StageRecord
from .contain_ahead import ContainAhead, drop
from .containment import Containment
from .definition import JobType, Stage
from .options import RunnerOptions
from .waiting import wait_set


class Holder(Protocol):
    """The runner that holds a job, as the job's run and its stage execution see it (the Runner is one)."""

    store: RunnerStore
    runner_id: str
    options: RunnerOptions
    workspace_root: Path
    unrecorded: set[JobId]
    """Jobs whose stop could not be recorded."""
    stages_done: int
    jobs_done: int
    contain_ahead: ContainAhead

    def lease_stale(self) -> bool:
        """Tell whether its lease may have lapsed."""
        ...

    def lease_fresh_until(self) -> float:
        """Return the lease_clock() time until which its lease is surely its own."""
        ...

    async def ensure_lease(self) -> None:
        """Return once it has confirmed that it still holds its lease."""
        ...

    def hold_run(self, run: JobRun) -> None:
        """Move a paused-but-held job out of the running set."""
        ...

    def slot_freeing(self) -> None:
        """Claim for a job whose end is queued (it rides the same group commit, after that end)."""
        ...

    def emit(self, event: RunnerEvent, job_id: JobId | None = None) -> None:
        """Tell of a runner event."""
        ...


class JobRun:
    """The in-memory state of one job while this runner holds it."""

    def __init__(self, runner: Holder, claimed: Claimed, job_type: JobType) -> None:
        self.runner = runner
        self.store = runner.store
        self.job = claimed.job
        self.job_type = job_type
        self.stages: tuple[Stage, ...] = job_type.stages
        """This job's stages: the type's, or those built from its params (`JobType.stages_for`)."""
        self.records: tuple[StageRecord, ...] = claimed.stages
        self.states: dict[int, Any] = {}
        """The latest checkpoint state of each stage in this run (a retry starts from it)."""
        self.output_bytes = 0
        """Bytes of command output logged for this job (in earlier runs too, once `output_loaded`)."""
        self.output_loaded = False
        """True once the bytes logged by earlier runs were read from the store (`Context.output_count`)."""
        self.output_claimed = claimed.output_bytes
        """Those bytes as the claim read them (None: to be read), which `Context.output_count` takes instead."""
        self.output_dropped = 0
        """Output lines dropped past the job's output limit."""
        self.output_dropped_bytes = 0
        self.output_noted = 0
        self.output_limit = runner.options.output_limit
        self.held = False
        """True while the job is paused but its stage holds on to its resources (see `Context.hold`)."""
        self._unhold: asyncio.Event | None = None
        self.outputs: dict[str, Any] = {}
        self.task: asyncio.Task[None] | None = None
        self.request: StopKind | None = None
        """What was asked of the job (pause, cancel, shutdown, lost); checked at every safe point."""
        self.interrupt: StopKind | None = None
        """Set just before the runner cancels the task, so the task knows why."""
        self.reason: str | None = None
        self._wake = asyncio.Event()
        self.grace_timer: asyncio.TimerHandle | None = None
        self.completing = False
        """True once the job's completion is queued: from then on it is no longer held in the store, and not lost."""
        self.ending = False
        """True once the job's end (completed, failed) is queued: its slot may be claimed for meanwhile."""
        self._clean = set() if claimed.processes_left else {r.index for r in claimed.stages}
        """Stages that no process record of an earlier run names (as the claim saw), and that ran no command yet."""
        self.items_done = claimed.job.items_done
        self.items_failed = claimed.job.items_failed
        self.consecutive_failures = 0 if claimed.job.resume_count else claimed.job.consecutive_failures
        self.current_index: int | None = None
        self.progress_done = 0
        self.progress_total = 0
        self.progress_message: str | None = None
        self.progress_source: Callable[[], tuple[int, int | None, str | None]] | None = None
        """Where the progress is read from when the group commit takes its batch (an items loop), if anywhere."""
        self._secret_values: Secrets | None = None
        """The secret values of its params (`_secrets`), found when first needed: most jobs never log a line that
        could hold one."""
        self._logged = 0
        self.workspace = runner.workspace_root / str(claimed.job.job_id)
        self.ahead: tuple[int, Containment] | None = runner.contain_ahead.give(claimed.job.job_id)
        """(stage index, containment) committed with the claim for that stage's first command, until it starts."""

    # safe points ---------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise Stop when pause, cancel or shutdown was asked (a safe point)."""
        if self.request is not None:
            raise Stop(self.request, self.reason)

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake and stop at once when a request arrives; then confirm the lease if it may have lapsed."""
        self.check()
        if seconds > 0:
            await wait_set(self._wake, seconds)
        self.check()
        if self.must_wait:
            await self.ready()

    @property
    def must_wait(self) -> bool:
        """Tell whether `ready()` has anything to do: a lease to confirm, a stalled database, a lost job."""
        return self.runner.lease_stale() or self.store.stalled or self.lost

    @property
    def lost(self) -> bool:
        """Tell whether another runner holds the job now (it may change across any await)."""
        return self.request is StopKind.LOST

    def ask(self, kind: StopKind, reason: str | None = None) -> None:
        """Ask the job to stop at its next safe point."""
        if self.request is StopKind.CANCEL or self.request is kind:
            return
        self.request = kind
        self.reason = reason
        self._wake.set()
        if self._unhold is not None:
            self._unhold.set()

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Return this job's stage names."""
        return tuple(s.name for s in self.stages)

    async def hold(self, reason: str) -> None:
        """Pause the job in the store while its stage keeps running (frozen); return once resumed.

        Only when a pause was asked; otherwise a safe point. The job is paused in the store but stays
        held by this runner (its lease owner), so no other runner can take it. A resume brings it back
        to this same stage call; cancel, delete, rewind and runner shutdown raise Stop instead.
        """
        if self.request is not StopKind.PAUSE:
            self.check()
            return
        runner = self.runner
        if self.grace_timer is not None:
            self.grace_timer.cancel()
            self.grace_timer = None
        self._unhold = asyncio.Event()
        self.store.job_held(self.job.job_id, runner.runner_id, reason)
        self.log(f"paused: {reason}", "warning")
        # Held from the queued write on: a stop while it commits lets go of a held job, not a running one, and a
        # resume claimed meanwhile continues this very call instead of starting the stage again beside it.
        self.held = True
        runner.hold_run(self)
        await self.store.commit_point()
        try:
            await self._unhold.wait()
        finally:
            self._unhold = None
        self.check()

    def unheld(self, job: Any) -> None:
        """Continue a held job that its runner claimed again after a resume."""
        self.runner.contain_ahead.discard(self.store, job.job_id)  # never given: a held job's process row is alive
        self.job = job
        self.held = False
        self.request = None
        self.reason = None
        self.interrupt = None
        self._wake.clear()
        self.log("resumed: the held stage continues")
        if self._unhold is not None:
            self._unhold.set()

    async def ready(self) -> None:
        """Before new work (a stage attempt, an item): confirm the lease if it may have lapsed.

        Raises Stop('lost') when another runner holds the job now. While the database cannot take
        writes (disk full, locked), wait for the queued ones to commit instead of piling up more work.
        """
        runner = self.runner
        if runner.lease_stale():
            await runner.ensure_lease()
        if self.lost:
            raise Stop(StopKind.LOST)
        if self.store.stalled:
            try:
                await self.store.commit_point()
            except StoreError:
                pass  # our writes were dropped: on_dropped interrupts this job
            if self.lost:
                raise Stop(StopKind.LOST)

    def may_have_leftovers(self, index: int) -> bool:
        """Tell whether a command of stage `index` may have been left by an earlier run (ask once per attempt, just
        before its first command: from then on this run's own commands may be left)."""
        clean = index in self._clean
        self._clean.discard(index)
        return not clean

    def take_ahead(self, index: int) -> Containment | None:
        """Return the containment committed with the claim for stage `index`'s first command (once), if any; teach the
        runner that this job's type starts a command first."""
        self.runner.contain_ahead.learn(self.job.type)
        ahead = self.ahead
        if ahead is None or ahead[0] != index:
            return None
        self.ahead = None
        return ahead[1]

    def drop_ahead(self) -> None:
        """Remove the containment committed with the claim that no command used (the job's run ends)."""
        if self.ahead is not None:
            drop(self.store, self.job.job_id, *self.ahead)
            self.ahead = None

    def end_queued(self) -> None:
        """Note that this job's end is queued: a claim for its slot may ride the group commit that carries it."""
        self.ending = True
        self.runner.slot_freeing()

    async def until_stop(self) -> None:
        """Return once pause, cancel or shutdown is asked."""
        while self.request is None:
            await self._wake.wait()

    # writes ----------------------------------------------------------------------------------------
    @property
    def _secrets(self) -> Secrets:
        if self._secret_values is None:
            self._secret_values = secret_values(self.job.params)
        return self._secret_values

    def log(self, message: str, level: str = "info", *, plain: bool = False) -> None:
        """Queue a log line, blanking secret param values (not in a `plain` one: jobtui's own words, no value in
        them); keep the log bounded."""
        if not plain:
            message = scrub(message, self._secrets)
        self.store.log(self.job.job_id, level, message)
        self._logged += 1
        if self._logged % 1000 == 0:
            self.store.trim_logs(self.job.job_id, self.runner.options.log_limit)

    def clean(self, text: str) -> str:
        """Return text fit to store and show: secret param values and URL secrets blanked."""
        return scrub(text, self._secrets)

    def set_progress(self, done: int, total: int | None, message: str | None) -> None:
        """Queue the job's progress and counters."""
        self.progress_source = None
        self._keep_progress(done, total, message)
        # Read when the next group commit is taken: a loop that reports progress per item queues one row.
        self.store.watch_progress(self.job.job_id, self._progress_values)

    def follow_progress(self, source: Callable[[], tuple[int, int | None, str | None]]) -> None:
        """Queue the job's progress and counters as `source` tells them when the next group commit is taken.

        An items loop's: its message is made once per commit, not once per item.
        """
        self.progress_source = source
        self.store.watch_progress(self.job.job_id, self._progress_values)

    def _keep_progress(self, done: int, total: int | None, message: str | None) -> None:
        self.progress_done = done
        self.progress_total = total or 0
        if message is not None:
            self.progress_message = scrub(message, self._secrets) if self._secrets else message

    def output_total(self) -> int:
        """Return the bytes of command output logged for this job so far (read by the group commit)."""
        return self.output_bytes

    def _progress_values(self) -> tuple[int, int, str | None, int, int, int]:
        if self.progress_source is not None:
            self._keep_progress(*self.progress_source())
        return (self.progress_done, self.progress_total, self.progress_message, self.items_done, self.items_failed,
                self.consecutive_failures)

