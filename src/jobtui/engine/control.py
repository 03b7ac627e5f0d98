"""A runner's turn with the store's word on its jobs: control requests, held jobs, recovery of lost runners' jobs."""

from __future__ import annotations

import functools
from typing import Protocol

from ..errors import TransientError
from ..kinds import RunnerEvent, StopKind
from ..model import HOLDABLE, PAUSED_BY_REQUEST, JobId, JobStatus
from ..store import RunnerStore
from .jobrun import JobRun
from .lease import runner_process_gone
from .options import RunnerOptions
from .process import end_leftovers


class Runner(Protocol):
    """What these steps see of the Runner (engine/runner.py), which calls them."""

    store: RunnerStore
    runner_id: str
    options: RunnerOptions
    runs: dict[JobId, JobRun]
    held: dict[JobId, JobRun]
    unrecorded: set[JobId]

    def interrupt(self, run: JobRun, kind: StopKind) -> None: ...
    def arm_grace(self, run: JobRun, kind: StopKind) -> None: ...
    def emit(self, event: RunnerEvent, job_id: JobId | None = None) -> None: ...
    def wake(self) -> None: ...


async def poll_control(runner: Runner) -> None:
    """Apply the pause and cancel requests on the runner's jobs; stop the jobs it no longer holds."""
    store = runner.store
    owned = await store.owned_requests(runner.runner_id, expected=len(runner.runs))
    if owned is None:
        runner.unrecorded.clear()
        return
    for job_id, run in list(runner.runs.items()):
        status = owned.get(job_id)
        if status is None:
            # A job whose completion just committed is no longer held, yet not lost: its task ends by itself.
            if run.task is not None and not run.task.done() and run.interrupt is None and not run.completing:
                runner.interrupt(run, StopKind.LOST)
        elif status is JobStatus.PAUSING and run.request is None:
            run.ask(StopKind.PAUSE, PAUSED_BY_REQUEST)
            runner.arm_grace(run, StopKind.PAUSE)
        elif status is JobStatus.CANCELLING and run.request is not StopKind.CANCEL:
            run.ask(StopKind.CANCEL)
            runner.interrupt(run, StopKind.CANCEL)
    stray = owned.keys() - runner.runs.keys()
    for job_id in stray:
        # Our final write for it did not apply (its state changed under us): hand it back.
        store.job_released(job_id, runner.runner_id)
    if stray:
        await store.commit_point()
    runner.unrecorded.clear()


async def poll_held(runner: Runner) -> None:
    """Stop held jobs that someone cancelled, deleted, rewound or gave to another runner."""
    owned = await runner.store.held_status(list(runner.held))
    for job_id, run in list(runner.held.items()):
        status, owner = owned.get(job_id, (None, None))
        if owner != runner.runner_id or status is None or status not in HOLDABLE:
            # No longer ours to continue: the stage lets go of its process; nothing is written.
            run.ask(StopKind.LOST)


async def recover(runner: Runner) -> None:
    """Take back the jobs of runners whose lease lapsed, end their leftover commands, release unblocked jobs."""
    store = runner.store
    recovered = await store.recover(
        self_id=runner.runner_id, ttl_ms=int(runner.options.lease_ttl_s * 1000), is_dead=runner_process_gone
    )
    for job_id, before, after in recovered:
        store.log(job_id, "warning", recovered_text(before, after), held=False)
        runner.emit(RunnerEvent.RECOVERED, job_id)
        # A dead runner's commands may have outlived it: end them before anything runs again. This
        # runner does not hold the job: its lines are written unfenced (held=False), or the group
        # commit refused them and warned that fencing failed (issue 15, item 9).
        say = functools.partial(store.log, job_id, "warning", held=False)
        try:
            await end_leftovers(store, job_id, None, log=say)
        except TransientError as e:
            # The stage's next start tries again, and refuses to run beside a live copy.
            say(str(e))
    # Blocked jobs whose dependencies completed while no unblock ran with them (a safety net).
    released = await store.release_ready()
    if recovered or released:
        await store.commit_point()
        runner.wake()


def recovered_text(before: JobStatus, after: JobStatus) -> str:
    """Word a recovery for the job's log: 'queued → ...', or, for a job that stays paused, what became of it."""
    if before is after:
        return (f"its runner was lost; the job stays {after.value}"
                + (" (a frozen command is ended: resume runs its stage again from its last checkpoint)"
                   if after is JobStatus.PAUSED else ""))
    return f"recovered from a lost runner: {before.value} → {after.value}"
