"""Runner: claims jobs, runs their stages as asyncio tasks, heartbeats, applies control, recovers."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import (
    JobTimeoutError,
    ReplayMismatchError,
    StageError,
    StageTimeoutError,
    StoreError,
    TransientError,
    UsageError,
)
from ..fleet import check_name, check_tags
from ..kinds import RunnerEvent, StopKind
from ..model import HOLDABLE, JobId, NotifyEvent, RunnerInfo, StageStatus, scrub, secret_values
from ..store import Claimed, JobStore, StageRecord
from .context import Context, Stop
from .definition import JobType, Registry, Stage
from .notify import Notifier, defaults_from_env
from .process import end_leftovers
from .retention import PERIOD_S, Retention
from .retry import call_with_retry, describe, is_expected, last_frames
from .scheduler import Scheduler
from .waiting import wait_set

LOG_LIMIT = 10_000
"""Log lines kept per job; older ones are dropped."""
OUTPUT_LIMIT = 8 * 1024 * 1024
"""Bytes of command output logged per job by one runner; past it, lines are counted and dropped."""
MAX_LEASE_TTL_S = 86_400.0
"""The longest lease a runner may take: a day (a longer one would leave a dead runner's jobs stranded)."""

log = logging.getLogger("jobtui.engine")

_NOTIFYING = frozenset({RunnerEvent.COMPLETED, RunnerEvent.FAILED, RunnerEvent.PAUSE, RunnerEvent.CANCEL})
"""Events after which the notification outbox may hold something new to deliver."""


def lease_clock() -> float:
    """Return seconds on a clock that runs on while the process is frozen or the machine is suspended."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


def check_lease_ttl(ttl_s: float) -> None:
    """Raise ValueError unless a lease TTL is a finite number of seconds in (0, MAX_LEASE_TTL_S]."""
    if not isinstance(ttl_s, int | float) or not math.isfinite(ttl_s) or ttl_s <= 0 or ttl_s > MAX_LEASE_TTL_S:
        raise ValueError(f"the lease TTL must be more than 0 and at most {MAX_LEASE_TTL_S:g} seconds, not {ttl_s!r}")


class JobRun:
    """The in-memory state of one job while this runner holds it."""

    def __init__(self, runner: Runner, claimed: Claimed, job_type: JobType) -> None:
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
        """Bytes of command output logged for this job by this runner (see `Context.output`)."""
        self.output_dropped = 0
        """Output lines dropped past the job's output limit."""
        self.output_dropped_bytes = 0
        self.output_noted = 0
        self.output_limit = runner.output_limit
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
        self._grace: asyncio.TimerHandle | None = None
        self.completing = False
        """True once the job's completion is queued: from then on it is no longer held in the store, and not lost."""
        self.items_done = claimed.job.items_done
        self.items_failed = claimed.job.items_failed
        self.consecutive_failures = 0 if claimed.job.resume_count else claimed.job.consecutive_failures
        self.current_index: int | None = None
        self.progress_done = 0
        self.progress_total = 0
        self.progress_message: str | None = None
        self._secrets = secret_values(claimed.job.params)
        self._logged = 0
        self.workspace = runner.workspace_root / str(claimed.job.job_id)

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
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._unhold = asyncio.Event()
        self.store.job_held(self.job.job_id, runner.runner_id, reason)
        self.log(f"paused: {reason}", "warning")
        await self.store.commit_point()
        self.held = True
        runner._hold(self)
        try:
            await self._unhold.wait()
        finally:
            self._unhold = None
        self.check()

    def unheld(self, job: Any) -> None:
        """Continue a held job that its runner claimed again after a resume."""
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

    async def until_stop(self) -> None:
        """Return once pause, cancel or shutdown is asked."""
        while self.request is None:
            await self._wake.wait()

    # writes ----------------------------------------------------------------------------------------
    def log(self, message: str, level: str = "info") -> None:
        """Queue a log line, blanking secret param values; keep the log bounded."""
        message = scrub(message, self._secrets)
        self.store.log(self.job.job_id, level, message)
        self._logged += 1
        if self._logged % 1000 == 0:
            self.store.trim_logs(self.job.job_id, self.runner.log_limit)

    def clean(self, text: str) -> str:
        """Return text fit to store and show: secret param values and URL secrets blanked."""
        return scrub(text, self._secrets)

    def set_progress(self, done: int, total: int | None, message: str | None) -> None:
        """Queue the job's progress and counters."""
        self.progress_done = done
        self.progress_total = total or 0
        if message is not None:
            self.progress_message = scrub(message, self._secrets) if self._secrets else message
        # Read when the next group commit is taken: a loop that reports progress per item queues one row.
        self.store.watch_progress(self.job.job_id, self._progress_values)

    def _progress_values(self) -> tuple[int, int, str | None, int, int, int]:
        return (self.progress_done, self.progress_total, self.progress_message, self.items_done, self.items_failed,
                self.consecutive_failures)


def _failure(job_id: JobId, stage: str, error: str, *, transient: bool = False) -> StageError:
    """Return the StageError that fails a job at `stage` with `error` (`Type: message` of what failed, scrubbed)."""
    return StageError(job_id, stage, f"stage {stage} failed: {error}", transient=transient, error=error)


def default_runner_name() -> str:
    """Return the name a runner gets unless given one: `<host>-<pid>` (unique among live runners)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def runner_process_gone(info: RunnerInfo) -> bool:
    """Tell whether a runner on this host is certainly gone (its process no longer exists)."""
    if info.hostname != socket.gethostname() or info.pid == os.getpid():
        return False
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{info.pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class Runner:
    """Runs the jobs of one database: claims, executes, heartbeats, obeys control, recovers.

    Args:
        store: the open Store.
        registry: the job types this runner can run (jobs of other types stay queued).
        concurrency: jobs run at once.
        grace_s: how long a paused or shut-down job may take to reach a safe point before interruption.
        lease_ttl_s: a runner whose heartbeat is older than this is taken for dead.
    """

    def __init__(
        self,
        store: JobStore,
        registry: Registry,
        *,
        concurrency: int = 4,
        grace_s: float = 10.0,
        lease_ttl_s: float = 15.0,
        poll_s: float = 0.5,
        control_poll_s: float = 0.2,
        log_limit: int = LOG_LIMIT,
        output_limit: int = OUTPUT_LIMIT,
        workspace_root: Path | None = None,
        runner_id: str | None = None,
        name: str | None = None,
        tags: Iterable[str] = (),
        on_event: Callable[[RunnerEvent, JobId | None], None] | None = None,
        notify_defaults: Sequence[tuple[str, str]] | None = None,
        notify: bool = True,
        schedules: bool = True,
        keep_ms: int | None = None,
        retention_period_s: float = PERIOD_S,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        check_lease_ttl(lease_ttl_s)
        self.store = store
        self.registry = registry
        self.concurrency = concurrency
        self.grace_s = grace_s
        self.lease_ttl_s = lease_ttl_s
        self.poll_s = poll_s
        self.control_poll_s = control_poll_s
        self.log_limit = log_limit
        self.output_limit = output_limit
        self.workspace_root = workspace_root or store.workspace_root
        self.runner_id = runner_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.name = default_runner_name() if name is None else check_name(name)
        """What `stats`, `runners` and the TUI call it (`run --name`; default host-pid)."""
        self.tags = check_tags(tags)
        """It claims only jobs whose needs (`submit --needs`) are all among these (`run --tag`)."""
        self.on_event = on_event
        store.notify_defaults = tuple(defaults_from_env() if notify_defaults is None else notify_defaults)
        self.notifier: Notifier | None = Notifier(store, self.runner_id) if notify else None
        """Delivers the notification outbox in the background (None: this runner leaves it to others)."""
        self.scheduler: Scheduler | None = Scheduler(store, registry, self.runner_id, on_fire=self.wake) if schedules \
            else None
        """Fires recurring schedules (None: this runner leaves them to others)."""
        self.retention: Retention | None = None if not keep_ms else Retention(
            store, keep_ms, self.workspace_root, period_s=retention_period_s)
        """Deletes finished jobs older than `keep_ms` (None: keeps them all)."""
        self.runs: dict[JobId, JobRun] = {}
        self.held: dict[JobId, JobRun] = {}
        """Paused jobs whose stage this runner keeps (a frozen command); they take no slot."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._lease_ok = lease_clock()
        """When (lease_clock) the last heartbeat that found this runner still registered began."""
        self._confirming: asyncio.Future[None] | None = None
        self._held = False
        self._claiming = asyncio.Lock()
        """Held while a claim is in flight and its jobs start (hold_claims() waits for it)."""
        self.stages_done = 0
        self._unrecorded: set[JobId] = set()
        """Jobs whose stop could not be recorded: still ours in the store; the control poll hands them back."""
        """Stages completed by this runner, for benchmarks."""
        self.jobs_done = 0

    # public control ------------------------------------------------------------------------------
    def wake(self) -> None:
        """Look for new jobs and control requests now instead of at the next poll."""
        self._wake.set()

    def stop(self, *, force: bool = False) -> None:
        """Stop claiming; bring running jobs to a safe point and hand them back, then return from run().

        With `force`, interrupt them now instead of waiting out the grace period (they still go back
        to their last checkpoint).
        """
        self._stopping = True
        self._wake.set()
        if force:
            self.grace_s = 0
            for run in list(self.runs.values()):
                self._interrupt(run, StopKind.SHUTDOWN)

    async def hold_claims(self) -> None:
        """Claim nothing new until release_claims(); return once no claim is in flight.

        After it returns, `runs` is every job this runner will hold (e.g. while the TUI asks what to do
        with them on quit).
        """
        self._held = True
        async with self._claiming:
            pass

    def release_claims(self) -> None:
        """Claim jobs again (after hold_claims())."""
        self._held = False
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """Tell whether stop() was called."""
        return self._stopping

    def _emit(self, event: RunnerEvent, job_id: JobId | None = None) -> None:
        if self.notifier is not None and event in _NOTIFYING:
            self.notifier.wake()
        if self.on_event is not None:
            self.on_event(event, job_id)

    # leases ------------------------------------------------------------------------------------------
    def lease_stale(self) -> bool:
        """Tell whether this runner's lease may have lapsed (no confirmed heartbeat for 2/3 of its TTL).

        Measured on a clock that runs on through SIGSTOP and suspend, so that a runner that wakes up
        knows it slept.
        """
        return lease_clock() - self._lease_ok > self.lease_ttl_s * 2 / 3

    async def ensure_lease(self) -> None:
        """Return once this runner has confirmed in the database that it still holds its lease and jobs.

        Jobs another runner took meanwhile are stopped ('lost'); their writes are refused anyway.
        Concurrent callers share one confirmation.
        """
        if not self.lease_stale():
            return
        if self._confirming is None or self._confirming.done():
            self._confirming = asyncio.ensure_future(self._confirm())
        await asyncio.shield(self._confirming)

    async def _confirm(self) -> None:
        delay = 0.1
        said = False
        while True:
            began = lease_clock()
            try:
                if not await self.store.heartbeat(self.runner_id):
                    self._lost_all()
                    await self._register()
                else:
                    owned = await self.store.owned_requests(self.runner_id) or {}
                    for job_id, run in list(self.runs.items()):
                        if job_id not in owned:
                            self._lose(run)
                self._lease_ok = began
                if said:
                    log.warning("lease confirmed; work continues")
                return
            except StoreError as e:
                if not said:
                    log.warning("lease may have lapsed and cannot be confirmed (%s); starting no new work"
                                " until it is", e)
                    said = True
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    def _lose(self, run: JobRun) -> None:
        """Stop a job another runner holds now: no safe point, no write."""
        run.ask(StopKind.LOST)
        self._interrupt(run, StopKind.LOST)

    def _lost_all(self) -> None:
        if self.runs:
            log.warning("this runner was taken for dead and its jobs reclaimed; stopping %d job(s) here",
                        len(self.runs))
        for run in [*self.runs.values(), *self.held.values()]:
            self._lose(run)

    def _on_dropped(self, jobs: set[JobId], reason: StopKind) -> None:
        """Stop the jobs whose queued writes the store dropped, at their last committed checkpoint."""
        for job_id in jobs:
            run = self.runs.get(job_id)
            if run is None:
                continue
            if reason is StopKind.LOST:
                self._lose(run)
            else:
                self._interrupt(run, StopKind.STORE)

    async def _register(self) -> None:
        now = self.store.clock()
        info = RunnerInfo(self.runner_id, os.getpid(), socket.gethostname(), now, now, self.concurrency,
                          int(self.lease_ttl_s * 1000), self.name, self.tags)
        await self.store.register_runner(info)

    # main loop -----------------------------------------------------------------------------------
    async def run(self, *, exit_when_idle: bool = False, wait_for_scheduled: bool = True) -> None:
        """Run until stop() (or, with exit_when_idle, until no job of ours is left to run).

        Without `wait_for_scheduled`, jobs due later (`--at`, a retry's wait) do not keep an idle runner.
        """
        delay = 0.2
        while True:
            began = lease_clock()
            try:
                await self._register()
                self._lease_ok = began
                break
            except StoreError as e:
                if not self.store.is_transient(e):
                    raise
                # A database locked by another process for longer than busy_timeout: wait it out.
                log.warning("cannot register the runner (%s); waiting and retrying", e)
                if self._stopping:
                    return
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
        self.store.fence = self.runner_id
        self.store.on_wake = self.wake  # a backend with push (PostgreSQL's LISTEN) wakes us on a submit or request
        self.store.on_dropped = self._on_dropped
        try:
            await self._recover()
        except StoreError as e:
            log.warning("recovery failed (%s); retrying at the next heartbeat", e)
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="jobtui-heartbeat")
        notifier = None if self.notifier is None else asyncio.create_task(self.notifier.run(), name="jobtui-notify")
        scheduler = None if self.scheduler is None else asyncio.create_task(self.scheduler.run(), name="jobtui-schedule")
        retention = None if self.retention is None else asyncio.create_task(self.retention.run(), name="jobtui-retention")
        types = self.registry.names
        try:
            while not self._stopping:
                claimed: list[Claimed] = []
                timeout = self.control_poll_s if self.runs or self.held else self.poll_s
                try:
                    free = self.concurrency - len(self.runs)
                    if free > 0 and self.lease_stale():
                        await self.ensure_lease()
                    # While the database takes no writes (disk full, locked), take no new jobs; nor while held.
                    if free > 0 and not self.store.stalled and not self._stopping and not self._held:
                        async with self._claiming:
                            if not self._held:
                                claimed = await self.store.claim(self.runner_id, free, types)
                                for c in claimed:
                                    self._start(c)
                    if self.runs or self._unrecorded:
                        await self._poll_control()
                    if self.held:
                        await self._poll_held()
                    if not self.runs and not claimed:
                        due_by = None if wait_for_scheduled else self.store.clock()
                        if exit_when_idle and not await self.store.has_runnable(types, due_by_ms=due_by,
                                                                                 runner_id=self.runner_id):
                            if self.notifier is not None:
                                await self.notifier.flush()
                            break
                        due = await self.store.next_due_ms(types, runner_id=self.runner_id)
                        if due is not None:
                            timeout = min(timeout, max(0.0, (due - self.store.clock()) / 1000))
                except StoreError as e:
                    # A lock held too long by another process, a full disk: say so, keep going.
                    log.warning("%s; waiting and retrying", e)
                    timeout = max(timeout, 1.0)
                if claimed and len(self.runs) < self.concurrency:
                    continue
                await wait_set(self._wake, timeout)
                self._wake.clear()
        finally:
            await self._shutdown()
            if retention is not None and self.retention is not None:
                self.retention.stop()  # never cancelled: it may be inside a transaction
                await asyncio.gather(retention, return_exceptions=True)
            if scheduler is not None and self.scheduler is not None:
                self.scheduler.stop()  # never cancelled: it may be inside a transaction
                await asyncio.gather(scheduler, return_exceptions=True)
            if notifier is not None and self.notifier is not None:
                self.notifier.stop()  # never cancelled: it may be inside a transaction
                await asyncio.gather(notifier, return_exceptions=True)
            heartbeat.cancel()
            if self._confirming is not None:
                self._confirming.cancel()
            for t in (heartbeat, self._confirming):
                if t is None:
                    continue
                try:
                    await t
                except (asyncio.CancelledError, Exception):
                    pass
            try:
                await asyncio.wait_for(self.store.commit_point(), max(10.0, self.grace_s))
                await self.store.unregister_runner(self.runner_id)
            except TimeoutError:
                log.error("writes could not be committed before stopping; the jobs continue from their last"
                          " committed checkpoint on the next run")
            except StoreError as e:
                log.error("%s", e)
            finally:
                self.store.fence = None
                self.store.on_dropped = None
                self.store.on_wake = None

    async def _shutdown(self) -> None:
        runs = list(self.runs.values()) + list(self.held.values())
        if not runs:
            return
        for run in runs:
            run.ask(StopKind.SHUTDOWN)
            self._arm_grace(run, StopKind.SHUTDOWN)
        tasks = [r.task for r in runs if r.task is not None]
        await asyncio.wait(tasks, timeout=self.grace_s + 5)
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _heartbeat_loop(self) -> None:
        """Renew the lease every third of its TTL; any failure is logged and the loop lives on."""
        interval = max(0.2, self.lease_ttl_s / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                began = lease_clock()
                if not await self.store.heartbeat(self.runner_id):
                    # Another runner took us for dead and reclaimed our jobs: stop them, write nothing.
                    self._lost_all()
                    await self._register()
                self._lease_ok = began
                await self._recover()
            except StoreError as e:
                log.warning("heartbeat failed: %s", e)
            except Exception:
                log.exception("heartbeat failed")

    async def _recover(self) -> None:
        recovered = await self.store.recover(
            self_id=self.runner_id, ttl_ms=int(self.lease_ttl_s * 1000), is_dead=runner_process_gone
        )
        for job_id, before, after in recovered:
            self.store.log(job_id, "warning", f"recovered from a lost runner: {before.value} → {after.value}",
                           held=False)
            self._emit(RunnerEvent.RECOVERED, job_id)
            # A dead runner's commands may have outlived it: end them before anything runs again.
            try:
                await end_leftovers(self.store, job_id, None, log=functools.partial(self.store.log, job_id, "warning"))
            except TransientError as e:
                # The stage's next start tries again, and refuses to run beside a live copy.
                self.store.log(job_id, "warning", str(e))
        # Blocked jobs whose dependencies completed while no unblock ran with them (a safety net).
        released = await self.store.release_ready()
        if recovered or released:
            await self.store.commit_point()
            self._wake.set()

    async def _poll_control(self) -> None:
        owned = await self.store.owned_requests(self.runner_id, expected=len(self.runs))
        if owned is None:
            self._unrecorded.clear()
            return
        for job_id, run in list(self.runs.items()):
            status = owned.get(job_id)
            if status is None:
                # A job whose completion just committed is no longer held, yet not lost: its task ends by itself.
                if run.task is not None and not run.task.done() and run.interrupt is None and not run.completing:
                    self._interrupt(run, StopKind.LOST)
            elif status.value == "pausing" and run.request is None:
                run.ask(StopKind.PAUSE, "paused by request")
                self._arm_grace(run, StopKind.PAUSE)
            elif status.value == "cancelling" and run.request is not StopKind.CANCEL:
                run.ask(StopKind.CANCEL)
                self._interrupt(run, StopKind.CANCEL)
        for job_id in owned.keys() - self.runs.keys():
            # Our final write for it did not apply (its state changed under us): hand it back.
            self.store.job_released(job_id, self.runner_id)
        if owned.keys() - self.runs.keys():
            await self.store.commit_point()
        self._unrecorded.clear()

    def _arm_grace(self, run: JobRun, kind: StopKind) -> None:
        if run._grace is None:
            run._grace = asyncio.get_running_loop().call_later(self.grace_s, self._interrupt, run, kind)

    def _interrupt(self, run: JobRun, kind: StopKind) -> None:
        if run.task is not None and not run.task.done() and run.interrupt is None:
            run.interrupt = kind
            run.task.cancel()

    def _hold(self, run: JobRun) -> None:
        """Move a paused-but-held job out of the running set: it takes no slot while paused."""
        job_id = run.job.job_id
        if self.runs.get(job_id) is run:
            del self.runs[job_id]
        self.held[job_id] = run
        self._wake.set()
        self._emit(RunnerEvent.PAUSE, job_id)

    async def _poll_held(self) -> None:
        """Stop held jobs that someone cancelled, deleted, rewound or gave to another runner."""
        owned = await self.store.held_status(list(self.held))
        for job_id, run in list(self.held.items()):
            status, owner = owned.get(job_id, (None, None))
            if owner != self.runner_id or status is None or status not in HOLDABLE:
                # No longer ours to continue: the stage lets go of its process; nothing is written.
                run.ask(StopKind.LOST)

    def _start(self, claimed: Claimed) -> None:
        held = self.held.pop(claimed.job.job_id, None)
        if held is not None:
            # A resumed job whose stage this runner kept: continue that very call.
            self.runs[claimed.job.job_id] = held
            held.unheld(claimed.job)
            self._emit(RunnerEvent.STARTED, claimed.job.job_id)
            return
        job_type = self.registry.get(claimed.job.type)
        run = JobRun(self, claimed, job_type)
        run.task = asyncio.create_task(self._run_job(run), name=f"jobtui-job-{claimed.job.job_id}")
        self.runs[claimed.job.job_id] = run
        job_id = claimed.job.job_id
        run.task.add_done_callback(lambda _t: self._finished(job_id))
        self._emit(RunnerEvent.STARTED, claimed.job.job_id)

    def _finished(self, job_id: JobId) -> None:
        run = self.runs.pop(job_id, None) or self.held.pop(job_id, None)
        if run is not None and run._grace is not None:
            run._grace.cancel()
        self._wake.set()
        self._emit(RunnerEvent.FINISHED, job_id)

    # one job -------------------------------------------------------------------------------------
    async def _run_job(self, run: JobRun) -> None:
        job_id = run.job.job_id
        limit_s = run.job_type.timeout_s if run.job.timeout_ms is None else run.job.timeout_ms / 1000
        timer = asyncio.timeout(limit_s)
        try:
            try:
                recorded = tuple(r.name for r in run.records)
                try:
                    run.stages = run.job_type.stages_for(run.job.params)
                except UsageError as e:
                    raise _failure(job_id, recorded[0] if recorded else "?", run.clean(describe(e))) from e
                if recorded != run.stage_names:
                    raise ReplayMismatchError(job_id, run.job_type.name, recorded, run.stage_names)
                async with timer:
                    await self._run_stages(run)
            except TimeoutError:
                if limit_s is None or not timer.expired():
                    raise
                raise JobTimeoutError(job_id, run.stage_names[run.current_index or 0], limit_s) from None
        except Stop as s:
            await self._stopped(run, s.kind, s.reason)
        except asyncio.CancelledError:
            if run.interrupt is None:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self._stopped(run, run.interrupt, run.reason)
        except StageError as f:
            await self._failed(run, f)
        except StoreError as e:
            # A write of this job could not be committed: stop it honestly at its last committed
            # checkpoint and hand it back (it is claimed again and continues from there).
            log.error("job %s: cannot record progress (%s); handing it back at its last checkpoint", job_id, e)
            await self._stopped(run, StopKind.STORE, None)
        except Exception as e:  # a bug in jobtui itself: keep the runner alive, fail the job visibly
            await self._failed(run, _failure(job_id, run.stage_names[run.current_index or 0], run.clean(describe(e))))

    async def _run_stages(self, run: JobRun) -> None:
        job_id = run.job.job_id
        store = self.store
        stages = run.stages
        last = len(stages) - 1
        ran = False
        for index, stage in enumerate(stages):
            record = run.records[index]
            if record.status is StageStatus.COMPLETED:
                run.outputs[stage.name] = record.output
                continue
            run.check()
            output = await self._run_stage(run, index, stage, record)
            run.outputs[stage.name] = output
            store.stage_finished(job_id, index, output)
            run.current_index = None
            if index == last:
                run.completing = True
                store.job_completed(job_id, self.runner_id, len(stages))
                store.notify_event(job_id, NotifyEvent.COMPLETED)
                run.log("job completed")
            await store.commit_point()
            self.stages_done += 1
            ran = True
        if not ran:
            run.completing = True
            store.job_completed(job_id, self.runner_id, len(stages))
            store.notify_event(job_id, NotifyEvent.COMPLETED)
            await store.commit_point()
        self.jobs_done += 1
        self._emit(RunnerEvent.COMPLETED, job_id)

    async def _run_stage(self, run: JobRun, index: int, stage: Stage, record: StageRecord) -> Any:
        job_id = run.job.job_id
        store = self.store
        # An interruption (pause, shutdown, crash) is not a failed attempt: the budget goes on where it was.
        # A stage that failed for good and was resumed by a person gets a fresh budget.
        failed_before = 0 if record.status is StageStatus.FAILED else min(record.failures, stage.retry.attempts - 1)
        runs_before = record.runs
        policy = replace(stage.retry, retries=stage.retry.retries - failed_before) if failed_before else stage.retry
        tries = 0
        run.current_index = index
        run.states.setdefault(index, record.state)

        async def attempt() -> Any:
            nonlocal tries
            if run.must_wait:
                await run.ready()
            tries += 1
            number = failed_before + tries
            store.stage_started(job_id, index, number, stage.retry.attempts, runs_before + tries, number - 1)
            state = run.states.get(index)
            if number > 1 or record.status is StageStatus.INTERRUPTED:
                run.log(f"stage {stage.name}: attempt {number}" + (" (resumed from checkpoint)" if state is not None else ""))
            fresh = tries == 1 and record.items_done == 0 and record.items_failed == 0
            ctx = Context(run, index, stage, number, record.generation, state, fresh=fresh)
            if stage.timeout_s is None:
                out = await stage.fn(ctx)
            else:
                timer = asyncio.timeout(stage.timeout_s)
                try:
                    async with timer:
                        out = await stage.fn(ctx)
                except TimeoutError as e:
                    if timer.expired():
                        raise StageTimeoutError(job_id, stage.name, f"stage {stage.name} ran past {stage.timeout_s:g}s") from e
                    raise
            # No "stage done in Ns" log line: the stage's start and end are on its row (the TUI's
            # "took", `show`); a log row per stage was a quarter of the rows a trivial stage wrote.
            return out

        async def on_retry(number: int, err: BaseException, delay: float) -> None:
            text = run.clean(describe(err))
            store.attempt_failed(job_id, index, runs_before + number, text, True, failures=failed_before + number)
            store.stage_stopped(job_id, index, StageStatus.RETRYING, text, store.clock() + int(delay * 1000))
            run.log(f"stage {stage.name}: attempt {failed_before + number}/{stage.retry.attempts} failed ({text});"
                    f" retrying in {delay:.1f}s", "warning")
            await store.commit_point()

        try:
            output, _ = await call_with_retry(attempt, policy, sleep=run.sleep, on_retry=on_retry)
        except StoreError:
            raise  # the database, not the stage: the job is handed back, not failed
        except Exception as e:
            text = run.clean(describe(e))
            transient = stage.retry.retry_on(e)
            tb = None if is_expected(e) else run.clean(last_frames(e))
            store.attempt_failed(job_id, index, runs_before + max(tries, 1), text, transient,
                                 failures=failed_before + max(tries, 1), traceback=tb)
            store.stage_stopped(job_id, index, StageStatus.FAILED, text)
            if tb:
                run.log(f"stage {stage.name} raised {text}\n{tb}", "error")
            raise _failure(job_id, stage.name, text, transient=transient) from e
        return output

    async def _stopped(self, run: JobRun, kind: StopKind, reason: str | None) -> None:
        job_id = run.job.job_id
        store = self.store
        if kind is StopKind.LOST:
            return
        if run.current_index is not None:
            store.stage_stopped(job_id, run.current_index, StageStatus.INTERRUPTED, None)
        if run.held:
            # Paused while held: the stage let go of its resources; the job stays paused (or as a
            # person set it meanwhile) and its stage runs again from its last checkpoint on resume.
            store.job_unheld(job_id, self.runner_id)
            run.log("held stage ended: it runs again from its last checkpoint on resume", "warning")
        elif kind is StopKind.PAUSE:
            text = reason or "paused by request"
            store.job_paused(job_id, self.runner_id, text)
            if reason is not None and reason.startswith("auto-paused"):
                store.notify_event(job_id, NotifyEvent.PAUSED)
            run.log(f"paused: {text}", "warning")
        elif kind is StopKind.CANCEL:
            store.job_cancelled(job_id, self.runner_id)
            store.notify_event(job_id, NotifyEvent.CANCELLED)
            run.log("cancelled", "warning")
        elif kind is StopKind.STORE:
            store.job_released(job_id, self.runner_id)
            run.log("a write could not be committed: job handed back at its last committed checkpoint", "error")
        else:
            store.job_released(job_id, self.runner_id)
            run.log("runner stopping: job handed back at its last checkpoint")
        try:
            await store.commit_point()
        except StoreError as e:
            log.error("job %s: cannot record stop: %s", job_id, e)
            self._unrecorded.add(job_id)
        self._emit(RunnerEvent.of_stop(kind), job_id)

    async def _failed(self, run: JobRun, f: StageError) -> None:
        job = run.job
        store = self.store
        retry_at: int | None = None
        if f.transient and job.retry_count < job.max_retries:
            delay = min(3600.0, run.job_type.retry_delay_s * (2 ** job.retry_count))
            retry_at = store.clock() + int((delay + random.uniform(0, delay / 4)) * 1000)
        store.job_failed(job.job_id, self.runner_id, f.stage, f.error, retry_at_ms=retry_at)
        if retry_at is None:
            store.notify_event(job.job_id, NotifyEvent.FAILED)
        if retry_at is None:
            run.log(f"job failed at stage {f.stage}: {f.error}", "error")
        else:
            run.log(
                f"job failed at stage {f.stage}: {f.error}; automatic retry {job.retry_count + 1}/{job.max_retries}"
                f" in {(retry_at - store.clock()) / 1000:.0f}s",
                "error",
            )
        try:
            await store.commit_point()
        except StoreError as e:
            log.error("job %s: cannot record failure: %s", job.job_id, e)
        self._emit(RunnerEvent.FAILED, job.job_id)


def workspace_root_for(db_path: Path) -> Path:
    """Return the folder that holds the job workspaces of a database."""
    return db_path.parent / f"{db_path.stem}.workspaces"

