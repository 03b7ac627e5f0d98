"""Runner: the loop that claims jobs and runs each as an asyncio task, heartbeats, applies control, recovers."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from dataclasses import replace
from typing import Unpack

from ..errors import RunnerNameTakenError, StoreError
from ..fleet import check_name, check_tags
from ..kinds import RunnerEvent, StopKind
from ..model import JobId, RunnerInfo
from ..store import Claimed, RunnerStore
from .claim_ahead import ClaimAhead
from .contain_ahead import ContainAhead
from .control import poll_control, poll_held, recover
from .definition import Registry
from .duties import Duty, start_duties, stop_duties
from .execution import run_job
from .hosts import host_identity
from .jobrun import JobRun
from .lease import check_lease_ttl, default_runner_name, lease_clock, runner_process_gone
from .lease_keeper import LeaseKeeper
from .notify import Notifier, defaults_from_env
from .options import RunnerOptions, RunnerOverrides
from .retention import Retention
from .scheduler import Scheduler
from .waiting import wait_set

log = logging.getLogger("jobtui.engine")

_NOTIFYING = frozenset({RunnerEvent.COMPLETED, RunnerEvent.FAILED, RunnerEvent.PAUSE, RunnerEvent.CANCEL})
"""Events after which the notification outbox may hold something new to deliver."""


class Runner:
    """Runs the jobs of one database: claims, executes, heartbeats, obeys control, recovers.

    Args:
        store: the open Store.
        registry: the job types this runner can run (jobs of other types stay queued).
        options: how it runs (`RunnerOptions`); or give its fields as keywords (`concurrency=8`).
    """

    def __init__(
        self, store: RunnerStore, registry: Registry, options: RunnerOptions | None = None,
        **overrides: Unpack[RunnerOverrides],
    ) -> None:
        o = RunnerOptions(**overrides) if options is None else replace(options, **overrides)
        if o.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        check_lease_ttl(o.lease_ttl_s)
        self.options = o
        """How it runs, as given (a forced stop sets its grace to 0); what it resolves from them follows."""
        self.store = store
        self.registry = registry
        self.workspace_root = o.workspace_root or store.workspace_root
        self.runner_id = o.runner_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.name = default_runner_name() if o.name is None else check_name(o.name)
        """What `stats`, `runners` and the TUI call it (`run --name`; default host-pid, unique among live runners)."""
        self._default_name = o.name is None
        self._registered = False
        self.tags = check_tags(o.tags)
        """It claims only jobs whose needs (`submit --needs`) are all among these (`run --tag`)."""
        store.notify_defaults = tuple(defaults_from_env() if o.notify_defaults is None else o.notify_defaults)
        self.notifier: Notifier | None = Notifier(store, self.runner_id) if o.notify else None
        """Delivers the notification outbox in the background (None: this runner leaves it to others)."""
        self.scheduler: Scheduler | None = Scheduler(store, registry, self.runner_id, on_fire=self.wake) if o.schedules \
            else None
        """Fires recurring schedules (None: this runner leaves them to others)."""
        self.retention: Retention | None = None if not o.keep_ms else Retention(
            store, o.keep_ms, self.workspace_root, period_s=o.retention_period_s)
        """Deletes finished jobs older than `keep_ms` (None: keeps them all)."""
        self.runs: dict[JobId, JobRun] = {}
        self.held: dict[JobId, JobRun] = {}
        """Paused jobs whose stage this runner keeps (a frozen command); they take no slot."""
        self._wake = asyncio.Event()
        self._asked = True
        """Set by wake(): the next turn polls control requests even if the last poll is recent."""
        self._polled = 0.0
        """When (time.monotonic) the control requests were last polled."""
        self._stopping = False
        self._lease_ok = lease_clock()
        """When (lease_clock) the last heartbeat that found this runner still registered began."""
        self._confirming: asyncio.Future[None] | None = None
        self._held = False
        self._claiming = asyncio.Lock()
        """Held while a claim is in flight and its jobs start (hold_claims() waits for it)."""
        self.contain_ahead = ContainAhead()
        """Containments its claims commit for their jobs' first commands (engine/contain_ahead.py)."""
        self._ahead = ClaimAhead(self.contain_ahead)
        """The claim for the slot of a job whose end is queued (slot_freeing)."""
        self.stages_done = 0
        """Stages completed by this runner, for benchmarks."""
        self.jobs_done = 0
        self.loops = 0
        """Looks for jobs and control requests after which the loop went to wait: what a test waits on to know
        that the runner looked (and, say, claimed nothing), instead of sleeping."""
        self.unrecorded: set[JobId] = set()
        """Jobs whose stop could not be recorded: still ours in the store; the control poll hands them back."""

    # public control ------------------------------------------------------------------------------
    def wake(self) -> None:
        """Look for new jobs and control requests now instead of at the next poll."""
        self._asked = True
        self._wake.set()

    def slot_freeing(self) -> None:
        """Claim for a job whose end is queued: queued now, the claim rides the group commit of that end, after it."""
        self._wake.set()
        # Not beside a claim in flight (its jobs are not in `runs` yet): the loop claims after it instead.
        if not (self._claiming.locked() or self._held or self._stopping or self.store.stalled or self.lease_stale()):
            self._ahead.queue(self.store, self.runner_id, self._free(), self.registry.names)

    async def _take_pending(self) -> list[Claimed]:
        """Start the jobs of the claim queued by slot_freeing, if any (call it holding `_claiming`)."""
        claimed = await self._ahead.take()
        for c in claimed:
            self._start(c)
        return claimed

    def _free(self) -> int:
        """Return the free slots: a job whose end is queued no longer takes one."""
        return self.options.concurrency - sum(1 for r in self.runs.values() if not r.ending)

    def stop(self, *, force: bool = False) -> None:
        """Stop claiming; bring running jobs to a safe point and hand them back, then return from run().

        With `force`, interrupt them now instead of waiting out the grace period (they still go back
        to their last checkpoint).
        """
        self._stopping = True
        self._wake.set()
        if force:
            self.options = replace(self.options, grace_s=0)
            for run in list(self.runs.values()):
                self.interrupt(run, StopKind.SHUTDOWN)

    async def hold_claims(self) -> None:
        """Claim nothing new until release_claims(); return once no claim is in flight.

        After it returns, `runs` is every job this runner will hold (e.g. while the TUI asks what to do
        with them on quit).
        """
        self._held = True
        async with self._claiming:
            await self._take_pending()

    def release_claims(self) -> None:
        """Claim jobs again (after hold_claims())."""
        self._held = False
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """Tell whether stop() was called."""
        return self._stopping

    def emit(self, event: RunnerEvent, job_id: JobId | None = None) -> None:
        """Tell the notifier (for ends) and `on_event` of an event."""
        if self.notifier is not None and event in _NOTIFYING:
            self.notifier.wake()
        if self.options.on_event is not None:
            self.options.on_event(event, job_id)

    # leases ------------------------------------------------------------------------------------------
    def lease_stale(self) -> bool:
        """Tell whether this runner's lease may have lapsed (no confirmed heartbeat for 2/3 of its TTL).

        Measured on a clock that runs on through SIGSTOP and suspend, so that a runner that wakes up
        knows it slept.
        """
        return lease_clock() > self.lease_fresh_until()

    def lease_fresh_until(self) -> float:
        """Return the lease_clock() time until which this runner's lease is surely its own (its last confirmed
        heartbeat plus 2/3 of its TTL): a loop may compare the clock with it instead of calling lease_stale()."""
        return self._lease_ok + self.options.lease_ttl_s * 2 / 3

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
        self.interrupt(run, StopKind.LOST)

    def _lost_all(self) -> None:
        if self.runs:
            log.warning("this runner was taken for dead and its jobs reclaimed; stopping %d job(s) here",
                        len(self.runs))
        for run in [*self.runs.values(), *self.held.values()]:
            self._lose(run)

    def _on_dropped(self, jobs: set[JobId], reason: StopKind, error: str = "") -> None:
        """Stop the jobs whose queued writes the store dropped: lost ones at their last committed
        checkpoint, refused ones as failed with the database's error (never restarted in a loop)."""
        for job_id in jobs:
            run = self.runs.get(job_id)
            if run is None:
                continue
            if reason is StopKind.LOST:
                self._lose(run)
            else:
                if run.interrupt is None:
                    run.reason = error
                self.interrupt(run, StopKind.STORE)

    async def _register(self, *, first: bool = False) -> None:
        now = self.store.clock()
        info = RunnerInfo(self.runner_id, os.getpid(), socket.gethostname(), now, now, self.options.concurrency,
                          int(self.options.lease_ttl_s * 1000), self.name, self.tags, host_identity() or None)
        try:
            await self.store.register_runner(info, is_dead=runner_process_gone)
        except RunnerNameTakenError as e:
            if self._default_name:
                # host-pid is taken by a runner in another PID namespace (another container): add a suffix.
                self.name, self._default_name = f"{self.name}-{uuid.uuid4().hex[:4]}", False
                await self._register(first=first)
            elif first:
                raise
            else:
                # Taken for dead, then our name was given to a new runner: two of one name must not run.
                log.error("%s; stopping this runner", e)
                self.stop()

    async def register(self) -> bool:
        """Register this runner, waiting out a locked database; False if stopped meanwhile.

        Raises:
            RunnerNameTakenError: a live runner has this runner's `name` (a default name gets a suffix instead).
        """
        delay = 0.2
        while not self._registered:
            began = lease_clock()
            try:
                await self._register(first=True)
                self._lease_ok = began
                self._registered = True
            except StoreError as e:
                if not self.store.is_transient(e):
                    raise
                # A database locked by another process for longer than busy_timeout: wait it out.
                log.warning("cannot register the runner (%s); waiting and retrying", e)
                if self._stopping:
                    return False
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
        return True

    # main loop -----------------------------------------------------------------------------------
    async def run(self, *, exit_when_idle: bool = False, wait_for_scheduled: bool = True) -> None:
        """Run until stop() (or, with exit_when_idle, until no job of ours is left to run).

        Without `wait_for_scheduled`, jobs due later (`--at`, a retry's wait) do not keep an idle runner.
        """
        if not await self.register():
            return
        self.store.fence = self.runner_id
        self.store.on_wake = self.wake  # a backend with push (PostgreSQL's LISTEN) wakes us on a submit or request
        self.store.on_dropped = self._on_dropped
        try:
            await recover(self)
        except StoreError as e:
            log.warning("recovery failed (%s); retrying at the next heartbeat", e)
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="jobtui-heartbeat")
        keeper = LeaseKeeper(self.store, self.runner_id, interval_s=max(0.2, self.options.lease_ttl_s / 3),
                             on_renewed=self._renewed) if self.options.lease_thread else None
        if keeper is not None:
            keeper.start()
        duties = await start_duties(self.notifier, self.scheduler, self.retention)
        types = self.registry.names
        try:
            while not self._stopping:
                claimed, timeout, idle = await self._turn(types, exit_when_idle, wait_for_scheduled)
                if idle:
                    break
                if claimed and self._free() > 0:
                    continue
                self.loops += 1
                await wait_set(self._wake, timeout)
                self._wake.clear()
        finally:
            async with self._claiming:
                await self._take_pending()  # claimed already: started, then handed back with the others
            await self._shutdown()
            self.contain_ahead.close()
            await self._stop_duties(heartbeat, keeper, duties)
            await self._leave()

    async def _turn(self, types: list[str], exit_when_idle: bool, wait_for_scheduled: bool
                    ) -> tuple[list[Claimed], float, bool]:
        """Claim what fits, apply control requests; return (claimed, how long to wait, whether an idle runner leaves)."""
        claimed: list[Claimed] = []
        timeout = self.options.control_poll_s if self.runs or self.held else self.options.poll_s
        try:
            claimed = await self._claim(types)
            # Each job's end wakes the loop: requests are polled at their own pace (or at once after wake()).
            if (self.runs or self.unrecorded) and (self._asked or time.monotonic() - self._polled >= self.options.control_poll_s):
                self._asked, self._polled = False, time.monotonic()
                async with self._claiming:  # a claim that rode a job's end is started first: not taken for stray
                    claimed += await self._take_pending()
                    await poll_control(self)
            if self.held:
                await poll_held(self)
            if not self.runs and not claimed:
                due_by = None if wait_for_scheduled else self.store.clock()
                if exit_when_idle and not await self.store.has_runnable(types, due_by_ms=due_by,
                                                                         runner_id=self.runner_id):
                    if self.notifier is not None:
                        await self.notifier.flush()
                    return claimed, timeout, True
                due = await self.store.next_due_ms(types, runner_id=self.runner_id)
                if due is not None:
                    timeout = min(timeout, max(0.0, (due - self.store.clock()) / 1000))
        except StoreError as e:
            # A lock held too long by another process, a full disk: say so, keep going.
            log.warning("%s; waiting and retrying", e)
            timeout = max(timeout, 1.0)
        return claimed, timeout, False

    async def _claim(self, types: list[str]) -> list[Claimed]:
        """Claim as many jobs as there are free slots and start them (none while held, stopping or stalled)."""
        if self._ahead.queued:
            async with self._claiming:
                claimed = await self._take_pending()
            if claimed:
                return claimed
        free = self._free()
        if free > 0 and self.lease_stale():
            await self.ensure_lease()
        # While the database takes no writes (disk full, locked), take no new jobs; nor while held.
        if free <= 0 or self.store.stalled or self._stopping or self._held:
            return []
        async with self._claiming:
            if self._held:
                return []
            claimed = await self.contain_ahead.claim(self.store, self.runner_id, free, types)
            for c in claimed:
                self._start(c)
        return claimed

    async def _stop_duties(self, heartbeat: asyncio.Task[None], keeper: LeaseKeeper | None, duties: list[Duty]) -> None:
        """Stop the background duties (last started first), the heartbeat and the lease keeper."""
        await stop_duties(duties)
        heartbeat.cancel()
        if keeper is not None:
            await keeper.stop()
        if self._confirming is not None:
            self._confirming.cancel()
        await asyncio.gather(*(t for t in (heartbeat, self._confirming) if t is not None), return_exceptions=True)

    async def _leave(self) -> None:
        """Commit what is queued, unregister, and let go of the store's hooks."""
        try:
            await asyncio.wait_for(self.store.commit_point(), max(10.0, self.options.grace_s))
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
            self.arm_grace(run, StopKind.SHUTDOWN)
        tasks = [r.task for r in runs if r.task is not None]
        await asyncio.wait(tasks, timeout=self.options.grace_s + 5)
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _renewed(self, began: float) -> None:
        """Note a lease the keeper renewed (called from its thread: one assignment)."""
        self._lease_ok = max(self._lease_ok, began)

    async def _heartbeat_loop(self) -> None:
        """Renew the lease every third of its TTL; any failure is logged and the loop lives on."""
        interval = max(0.2, self.options.lease_ttl_s / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                began = lease_clock()
                if not await self.store.heartbeat(self.runner_id):
                    # Another runner took us for dead and reclaimed our jobs: stop them, write nothing.
                    self._lost_all()
                    await self._register()
                self._lease_ok = began
                if not self._stopping and await self.store.stop_requested(self.runner_id):
                    log.warning("asked to stop (`jobtui runners stop`): handing the jobs back, then exiting")
                    self.stop()
                await recover(self)
            except StoreError as e:
                log.warning("heartbeat failed: %s", e)
            except Exception:
                log.exception("heartbeat failed")

    def arm_grace(self, run: JobRun, kind: StopKind) -> None:
        """Interrupt the job's stage once the grace period passes, unless it stops at a safe point before."""
        if run.grace_timer is None:
            run.grace_timer = asyncio.get_running_loop().call_later(self.options.grace_s, self.interrupt, run, kind)

    def interrupt(self, run: JobRun, kind: StopKind) -> None:
        """Cancel the job's task now (once), noting why."""
        if run.task is not None and not run.task.done() and run.interrupt is None:
            run.interrupt = kind
            run.task.cancel()

    def hold_run(self, run: JobRun) -> None:
        """Move a paused-but-held job out of the running set: it takes no slot while paused."""
        job_id = run.job.job_id
        if self.runs.get(job_id) is run:
            del self.runs[job_id]
        self.held[job_id] = run
        self._wake.set()
        self.emit(RunnerEvent.PAUSE, job_id)

    def _start(self, claimed: Claimed) -> None:
        held = self.held.pop(claimed.job.job_id, None)
        if held is not None:
            # A resumed job whose stage this runner kept: continue that very call.
            self.runs[claimed.job.job_id] = held
            held.unheld(claimed.job)
            self.emit(RunnerEvent.STARTED, claimed.job.job_id)
            return
        job_type = self.registry.get(claimed.job.type)
        run = JobRun(self, claimed, job_type)
        run.task = asyncio.create_task(run_job(self, run), name=f"jobtui-job-{claimed.job.job_id}")
        self.runs[claimed.job.job_id] = run
        job_id = claimed.job.job_id
        run.task.add_done_callback(lambda _t: self._finished(job_id))
        self.emit(RunnerEvent.STARTED, claimed.job.job_id)

    def _finished(self, job_id: JobId) -> None:
        run = self.runs.pop(job_id, None) or self.held.pop(job_id, None)
        if run is not None and run.grace_timer is not None:
            run.grace_timer.cancel()
        self._wake.set()
        self.emit(RunnerEvent.FINISHED, job_id)
