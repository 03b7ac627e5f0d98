"""Stage execution: one job's stages in order, each with its retry policy and timeouts, and how the job ends."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from typing import Any

from ..errors import JobTimeoutError, ReplayMismatchError, StageError, StageTimeoutError, StoreError, UsageError
from ..kinds import RunnerEvent, Stop, StopKind
from ..model import PAUSED_BY_REQUEST, JobId, NotifyEvent, StageStatus, is_auto_paused
from ..store import StageRecord
from .context import Context
from .definition import Stage
from .jobrun import Holder, JobRun
from .retry import call_with_retry, describe, is_expected, last_frames

log = logging.getLogger("jobtui.engine")


def _failure(job_id: JobId, stage: str, error: str, *, transient: bool = False) -> StageError:
    """Return the StageError that fails a job at `stage` with `error` (`Type: message` of what failed, scrubbed)."""
    return StageError(job_id, stage, f"stage {stage} failed: {error}", transient=transient, error=error)


async def run_job(runner: Holder, run: JobRun) -> None:
    """Run one job's stages under its time limit, and record how it ended: completed, stopped or failed."""
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
                await _run_stages(runner, run)
        except TimeoutError:
            if limit_s is None or not timer.expired():
                raise
            raise JobTimeoutError(job_id, run.stage_names[run.current_index or 0], limit_s) from None
    except Stop as s:
        await _stopped(runner, run, s.kind, s.reason)
    except asyncio.CancelledError:
        if run.interrupt is None:
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        await _stopped(runner, run, run.interrupt, run.reason)
    except StageError as f:
        await _failed(runner, run, f)
    except StoreError as e:
        if runner.store.is_transient(e):
            # A passing condition: stop it honestly at its last committed checkpoint and hand it
            # back (it is claimed again and continues from there).
            log.error("job %s: cannot record progress (%s); handing it back at its last checkpoint", job_id, e)
            await _stopped(runner, run, StopKind.STORE, None)
        else:
            # Refused for good: handing it back would run it again into the same refusal, in a loop.
            log.error("job %s: the database refused its writes (%s); the job fails", job_id, e)
            await _stopped(runner, run, StopKind.STORE, str(e))
    except Exception as e:  # a bug in jobtui itself: keep the runner alive, fail the job visibly
        await _failed(runner, run, _failure(job_id, run.stage_names[run.current_index or 0], run.clean(describe(e))))
    finally:
        run.drop_ahead()  # a containment committed with the claim that no command used

async def _run_stages(runner: Holder, run: JobRun) -> None:
    job_id = run.job.job_id
    store = runner.store
    stages = run.stages
    last = len(stages) - 1
    ran = False
    for index, stage in enumerate(stages):
        record = run.records[index]
        if record.status is StageStatus.COMPLETED:
            run.outputs[stage.name] = record.output
            continue
        run.check()
        output, note = await _run_stage(runner, run, index, stage, record)
        run.outputs[stage.name] = output
        store.stage_finished(job_id, index, output, note=note)
        run.current_index = None
        if index == last:
            run.completing = True
            store.job_completed(job_id, runner.runner_id, len(stages))
            store.notify_event(job_id, NotifyEvent.COMPLETED)
            run.log("job completed", plain=True)
            run.end_queued()
        await store.commit_point()
        runner.stages_done += 1
        ran = True
    if not ran:
        run.completing = True
        store.job_completed(job_id, runner.runner_id, len(stages))
        store.notify_event(job_id, NotifyEvent.COMPLETED)
        run.end_queued()
        await store.commit_point()
    runner.jobs_done += 1
    runner.emit(RunnerEvent.COMPLETED, job_id)

async def _run_stage(runner: Holder, run: JobRun, index: int, stage: Stage, record: StageRecord
                     ) -> tuple[Any, str | None]:
    """Run one stage under its retry policy; return its output and what it tolerated (failed items), if any."""
    job_id = run.job.job_id
    store = runner.store
    # An interruption (pause, shutdown, crash) is not a failed attempt: the budget goes on where it was.
    # A stage that failed for good and was resumed by a person gets a fresh budget.
    failed_before = 0 if record.status is StageStatus.FAILED else min(record.failures, stage.retry.attempts - 1)
    runs_before = record.runs
    policy = replace(stage.retry, retries=stage.retry.retries - failed_before) if failed_before else stage.retry
    tries = 0
    tolerated: str | None = None
    run.current_index = index
    run.states.setdefault(index, record.state)

    async def attempt() -> Any:
        nonlocal tries, tolerated
        if run.must_wait:
            await run.ready()
        tries += 1
        number = failed_before + tries
        # A first run whose count its claim committed (a command's containment rode it) waits for no commit of its own.
        store.stage_started(job_id, index, number, stage.retry.attempts, runs_before + tries, number - 1,
                            lazy=tries == 1 and run.ahead is not None and run.ahead[0] == index)
        state = run.states.get(index)
        if number > 1 or record.status is StageStatus.INTERRUPTED:
            run.log(f"stage {stage.name}: attempt {number}" + (" (resumed from checkpoint)" if state is not None else ""))
        fresh = tries == 1 and record.items_done == 0 and record.items_failed == 0
        # ctx.attempt is the stage's run number: it counts on across retries, resumes and restarts (issue 15).
        ctx = Context(run, index, stage, runs_before + tries, record.generation, state, fresh=fresh)
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
        ctx.settle()  # failed items the stage left behind fail it (issue 15: never a plain success)
        tolerated = ctx.tolerated
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
    return output, tolerated

async def _stopped(runner: Holder, run: JobRun, kind: StopKind, reason: str | None) -> None:
    job_id = run.job.job_id
    store = runner.store
    if kind is StopKind.LOST:
        return
    refused = kind is StopKind.STORE and reason is not None
    error = f"the database refused a write of this job: {reason}" if refused else None
    if run.current_index is not None:
        store.stage_stopped(job_id, run.current_index, StageStatus.FAILED if refused else StageStatus.INTERRUPTED,
                            error)
    if refused and error is not None:
        # Failed, not handed back: claimed again, it would meet the same refusal at once, in a loop.
        stage = run.stage_names[run.current_index or 0] if run.stage_names else "?"
        store.job_failed(job_id, runner.runner_id, stage, error, retry_at_ms=None)
        store.notify_event(job_id, NotifyEvent.FAILED)
        run.log(f"job failed at stage {stage}: {error} (resume runs it again from its last committed checkpoint)",
                "error")
    elif run.held:
        # Paused while held: the stage let go of its resources; the job stays paused (or as a
        # person set it meanwhile) and its stage runs again from its last checkpoint on resume.
        store.job_unheld(job_id, runner.runner_id)
        run.log("held stage ended: it runs again from its last checkpoint on resume", "warning")
    elif kind is StopKind.PAUSE:
        text = reason or PAUSED_BY_REQUEST
        store.job_paused(job_id, runner.runner_id, text)
        if is_auto_paused(reason):
            store.notify_event(job_id, NotifyEvent.PAUSED)
        run.log(f"paused: {text}", "warning")
    elif kind is StopKind.CANCEL:
        store.job_cancelled(job_id, runner.runner_id)
        store.notify_event(job_id, NotifyEvent.CANCELLED)
        run.log("cancelled", "warning")
    elif kind is StopKind.STORE:
        store.job_released(job_id, runner.runner_id)
        run.log("a write could not be committed: job handed back at its last committed checkpoint", "error")
    else:
        store.job_released(job_id, runner.runner_id)
        run.log("runner stopping: job handed back at its last checkpoint")
    try:
        await store.commit_point()
    except StoreError as e:
        log.error("job %s: cannot record stop: %s", job_id, e)
        runner.unrecorded.add(job_id)
    runner.emit(RunnerEvent.FAILED if refused else RunnerEvent.of_stop(kind), job_id)

async def _failed(runner: Holder, run: JobRun, f: StageError) -> None:
    job = run.job
    store = runner.store
    retry_at: int | None = None
    if f.transient and job.retry_count < job.max_retries:
        delay = min(3600.0, run.job_type.retry_delay_s * (2 ** job.retry_count))
        retry_at = store.clock() + int((delay + random.uniform(0, delay / 4)) * 1000)
    store.job_failed(job.job_id, runner.runner_id, f.stage, f.error, retry_at_ms=retry_at)
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
    run.end_queued()
    try:
        await store.commit_point()
    except StoreError as e:
        log.error("job %s: cannot record failure: %s", job.job_id, e)
    runner.emit(RunnerEvent.FAILED, job.job_id)

