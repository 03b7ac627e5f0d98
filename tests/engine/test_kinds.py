"""Issue 8: the engine's internal kinds are types, not strings.

Stop reasons and runner events are StrEnums (equal to the old strings); a replay mismatch and a job timeout
are real exception classes (StageError subclasses), and the error text stored with the job is unchanged.
"""

from __future__ import annotations

import asyncio

from jobtui import (
    Context,
    JobTimeoutError,
    JobType,
    ReplayMismatchError,
    Runner,
    StageError,
    StageTimeoutError,
)
from jobtui.engine import runner as runner_module
from jobtui.kinds import RunnerEvent, StopKind
from jobtui.model import JobId, JobStatus
from jobtui.store import Store
from tests.conftest import make_client, run_idle, wait_for


async def first(ctx: Context) -> str:
    return "one"


async def forever(ctx: Context) -> None:
    await asyncio.Event().wait()  # runs until interrupted


async def boom(ctx: Context) -> None:
    raise ValueError("boom")


def test_errors_are_classes_in_one_tree() -> None:
    assert issubclass(ReplayMismatchError, StageError) and issubclass(JobTimeoutError, StageError)
    assert issubclass(StageTimeoutError, StageError)
    assert not hasattr(runner_module, "StageFailed"), "one class for a failed stage: StageError"
    e = ReplayMismatchError(7, "t", ("a", "b"), ("a",))
    assert (e.job_id, e.stage, e.recorded, e.current, e.transient) == (7, "a", ("a", "b"), ("a",), False)
    assert str(e) == "job was submitted with stages ['a', 'b'], but type 't' now has ['a']"
    assert e.error == "ReplayMismatchError: " + str(e)
    t = JobTimeoutError(7, "a", 1.5)
    assert (t.timeout_s, t.error) == (1.5, "JobTimeoutError: job ran past its timeout of 1.5s")


async def test_replay_mismatch_keeps_its_stored_text(store: Store) -> None:
    client = make_client(store, JobType("t", [first]))
    job_id = await client.submit("t")

    async def other(ctx: Context) -> None:
        return None

    client.registry.add(JobType("t", [other]))
    await run_idle(client)
    job = await client.job(job_id)
    assert job.status is JobStatus.FAILED and job.failed_step == "first"
    assert job.error_message == "ReplayMismatchError: job was submitted with stages ['first'], but type 't' now has ['other']"
    assert job.next_retry_at_ms is None, "never retried"


async def test_job_timeout_keeps_its_stored_text(store: Store) -> None:
    client = make_client(store, JobType("jt", [first, forever], timeout_s=0.2, max_retries=3))
    job_id = await client.submit("jt")
    await run_idle(client)
    job = await client.job(job_id)
    assert job.status is JobStatus.FAILED and job.failed_step == "forever"
    assert job.error_message == "JobTimeoutError: job ran past its timeout of 0.2s"
    assert job.next_retry_at_ms is None, "a job timeout is not retried"


async def test_runner_events_are_runner_event_members(store: Store) -> None:
    client = make_client(store, JobType("ok", [first]), JobType("bad", [boom], max_retries=0))
    good, bad = await client.submit("ok"), await client.submit("bad")
    events: list[tuple[object, JobId | None]] = []
    await run_idle(client, on_event=lambda kind, job_id: events.append((kind, job_id)))
    assert all(isinstance(kind, RunnerEvent) for kind, _j in events)
    assert [k for k, j in events if j == good] == [RunnerEvent.STARTED, RunnerEvent.COMPLETED, RunnerEvent.FINISHED]
    assert [k for k, j in events if j == bad] == [RunnerEvent.STARTED, RunnerEvent.FAILED, RunnerEvent.FINISHED]
    assert RunnerEvent.COMPLETED == "completed", "listeners that compare with the old strings still work"
    job = await client.job(bad)
    assert job.error_message == "ValueError: boom" and job.failed_step == "boom"


async def test_a_stage_sees_the_stop_kind_and_the_listener_the_pause(store: Store) -> None:
    asked: list[object] = []
    started = asyncio.Event()

    async def waits(ctx: Context) -> None:
        started.set()
        while not ctx.stopping:
            await asyncio.sleep(0.01)  # sleep: the stage's own poll of ctx.stopping
        asked.append(ctx.request)
        await ctx.checkpoint()

    client = make_client(store, JobType("w", [waits]))
    job_id = await client.submit("w")
    events: list[tuple[object, JobId | None]] = []
    runner = Runner(client.store, client.registry, control_poll_s=0.05,
                    on_event=lambda kind, j: events.append((kind, j)))
    client.runner = runner
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(started.wait(), 10)
    await client.pause(job_id)

    async def paused() -> bool:
        return (await client.job(job_id)).status is JobStatus.PAUSED

    await wait_for(paused)
    runner.stop()
    await task
    assert asked == [StopKind.PAUSE] and asked[0] == "pause"
    assert (RunnerEvent.PAUSE, job_id) in events
