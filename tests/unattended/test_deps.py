"""Dependencies (issue 9, part 1) in one process: blocked jobs, release on completion, refusals."""

from __future__ import annotations

import pytest

from jobtui.client import Client
from jobtui.errors import InvalidTransitionError, UsageError
from jobtui.model import Action, JobStatus
from tests.apps.unattendedapp import step
from tests.conftest import dump, make_client, run_idle


@pytest.fixture
def c(store) -> Client:  # type: ignore[no-untyped-def]
    return make_client(store, step)


async def status(c: Client, job_id: int) -> JobStatus:
    return (await c.job(job_id)).status


async def test_chain_waits_blocked_then_runs_in_order(c: Client) -> None:
    a = await c.submit("step")
    b = await c.submit("step", after=(a,))
    cc = await c.submit("step", after=(b,))
    assert [await status(c, x) for x in (a, b, cc)] == [JobStatus.QUEUED, JobStatus.BLOCKED, JobStatus.BLOCKED]
    d = await c.detail(cc)
    assert [r.job_id for r in d.depends_on] == [b] and [r.job_id for r in d.waiting_on] == [b]
    assert [r.job_id for r in (await c.detail(a)).dependents] == [b]
    await run_idle(c)
    assert [await status(c, x) for x in (a, b, cc)] == [JobStatus.COMPLETED] * 3
    starts = {x: (await c.job(x)).started_at_ms for x in (a, b, cc)}
    ends = {x: (await c.job(x)).completed_at_ms for x in (a, b, cc)}
    assert ends[a] <= starts[b] and ends[b] <= starts[cc]  # type: ignore[operator]


async def test_after_a_completed_job_is_queued_at_once(c: Client) -> None:
    a = await c.submit("step")
    await run_idle(c)
    b = await c.submit("step", after=(a,))
    assert await status(c, b) is JobStatus.QUEUED


async def test_failed_dependency_keeps_dependent_blocked_until_resumed(c: Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = tmp_path / "gate"
    a = await c.submit("step", {"gate": str(gate)})
    b = await c.submit("step", after=(a,))
    await run_idle(c)  # returns: a blocked job whose dependency failed is not runnable
    assert await status(c, a) is JobStatus.FAILED
    assert await status(c, b) is JobStatus.BLOCKED
    assert [(r.job_id, r.status) for r in (await c.waiting_on([b]))[b]] == [(a, JobStatus.FAILED)]
    with pytest.raises(InvalidTransitionError, match="wait on it"):
        await c.delete(a)
    gate.touch()
    await c.resume(a)
    await run_idle(c)
    assert [await status(c, x) for x in (a, b)] == [JobStatus.COMPLETED] * 2


async def test_cancel_and_pause_of_a_blocked_job(c: Client) -> None:
    a = await c.submit("step")
    b = await c.submit("step", after=(a,))
    await c.control(b, Action.PAUSE)
    assert await status(c, b) is JobStatus.PAUSED
    r = await c.resume(b)
    assert r.after is JobStatus.BLOCKED, "resume of a job whose dependency has not completed blocks it again"
    await c.cancel(b)
    assert await status(c, b) is JobStatus.CANCELLED
    await run_idle(c)
    assert await status(c, b) is JobStatus.CANCELLED, "a cancelled dependent does not run"
    r = await c.resume(b)
    assert r.after is JobStatus.QUEUED


async def test_fan_in_and_refusals_store_nothing(c: Client, db_path) -> None:  # type: ignore[no-untyped-def]
    a = await c.submit("step")
    b = await c.submit("step")
    cc = await c.submit("step", after=(a, b))
    before = dump(db_path)
    with pytest.raises(UsageError, match="no job #99"):
        await c.submit("step", after=(a, 99))
    with pytest.raises(UsageError, match="cycle"):
        await c.depend(a, [cc])
    with pytest.raises(UsageError, match="itself"):
        await c.depend(a, [a])
    assert dump(db_path) == before
    assert await c.depend(b, [a]) is JobStatus.BLOCKED  # b now waits on a too
    await run_idle(c)
    jobs = {x: await c.job(x) for x in (a, b, cc)}
    assert all(j.status is JobStatus.COMPLETED for j in jobs.values())
    assert jobs[a].completed_at_ms <= jobs[b].started_at_ms <= jobs[b].completed_at_ms <= jobs[cc].started_at_ms  # type: ignore[operator]
