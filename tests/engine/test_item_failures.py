"""Issue 15, item 1: a job whose items failed for good never reads as a success.

A stage's `ctx.items` loop whose items fail (after their retries) fails the stage and the job with
"N of M items failed"; the partial results stay exportable; resume runs only the failed items again.
`allow_failures` accepts a number or a percentage: the job then completes and says what it tolerated.
Real SQLite files and the real runner.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobtui import Context, ItemsFailedError, JobType, Param, PermanentError, Retry, Stage
from jobtui.engine.tolerance import allowed, check_allow_failures
from jobtui.model import JobStatus, NotifyEvent, StageStatus
from jobtui.store import Store
from tests.conftest import make_client, run_idle

NO_RETRY = Retry(retries=0)


def items_type(calls: dict[int, int], bad: set[int], *, allow: Any = None, n: int = 4,
               how: str = "loop") -> JobType:
    """A one-stage type running items 1..n; the items in `bad` fail permanently; `calls` counts runs per item."""

    async def each(ctx: Context) -> dict[str, Any]:
        async def one(i: int) -> int:
            calls[i] = calls.get(i, 0) + 1
            if i in bad:
                raise PermanentError(f"item {i} is bad")
            return i * 10

        seen = 0
        if how == "catch":
            try:
                async for _ in ctx.items(range(1, n + 1), one, allow_failures=allow):
                    seen += 1
            except ItemsFailedError:
                pass  # a stage that swallows the verdict: the runner still fails it
        else:
            async for o in ctx.items(range(1, n + 1), one, allow_failures=allow):
                seen += 1
                if how == "break" and not o.ok:
                    break
        return {"seen": seen}

    async def after(ctx: Context) -> str:
        return "after"

    return JobType("items", [Stage(each, "each", NO_RETRY), Stage(after, "after", NO_RETRY)],
                   params={"x": Param(int, 0)}, item_retry=NO_RETRY, auto_pause_after=0)


async def test_failed_items_fail_the_job_and_resume_runs_only_them(store: Store) -> None:
    calls: dict[int, int] = {}
    bad = {1, 3}
    client = make_client(store, items_type(calls, bad))
    job = await client.submit("items")
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.FAILED, "failed items must never read as a success"
    assert d.job.error_message is not None and "2 of 4 items failed" in d.job.error_message
    assert "item 1 is bad" in d.job.error_message, "the first item's error is named"
    assert d.stages[0].status is StageStatus.FAILED and d.stages[1].status is StageStatus.PENDING
    assert d.stages[0].attempts == 1, "an items verdict is not retried as a stage"
    exported = {i.key: i.status.value async for i in client.export(job)}
    assert exported == {"1": "failed", "2": "done", "3": "failed", "4": "done"}, "partial results stay exportable"
    assert [n.event for n in d.notifications] == [] or all(n.event != NotifyEvent.COMPLETED for n in d.notifications)

    bad.clear()
    await client.resume(job)
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.COMPLETED
    assert calls == {1: 2, 2: 1, 3: 2, 4: 1}, "done items are never run again; failed ones once more"
    assert d.job.items_failed == 0 and d.job.items_done == 4


async def test_retry_of_a_failed_items_job_also_runs_only_the_failed_items(store: Store) -> None:
    calls: dict[int, int] = {}
    bad = {2}
    client = make_client(store, items_type(calls, bad))
    job = await client.submit("items")
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.FAILED
    bad.clear()
    await client.retry(job)
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert calls == {1: 1, 2: 2, 3: 1, 4: 1}


@pytest.mark.parametrize("allow", [2, "2", "50%"])
async def test_allow_failures_completes_and_says_what_it_tolerated(store: Store, allow: Any) -> None:
    calls: dict[int, int] = {}
    client = make_client(store, items_type(calls, {1, 3}, allow=allow))
    job = await client.submit("items")
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.COMPLETED, d.job.error_message
    assert d.job.items_failed == 2
    note = d.stages[0].error or ""
    assert "2 of 4 items failed" in note and "tolerated" in note, note
    logs = [line.message for line in await client.logs(job)]
    assert any("2 of 4 items failed" in m for m in logs)


@pytest.mark.parametrize("allow", [1, "49%"])
async def test_more_failures_than_allowed_fail_the_job(store: Store, allow: Any) -> None:
    client = make_client(store, items_type({}, {1, 3}, allow=allow))
    job = await client.submit("items")
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.FAILED
    assert "2 of 4 items failed" in (d.job.error_message or "")
    assert f"allowed: {allow}" in (d.job.error_message or "")


@pytest.mark.parametrize("how", ["break", "catch"])
async def test_a_stage_that_leaves_the_loop_or_swallows_the_verdict_still_fails(store: Store, how: str) -> None:
    client = make_client(store, items_type({}, {2}, how=how))
    job = await client.submit("items")
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.FAILED, f"{how}: failed items were dropped silently"
    assert "items failed" in (d.job.error_message or "")


async def test_every_item_failing_fails_the_job(store: Store) -> None:
    client = make_client(store, items_type({}, {1, 2, 3, 4}))
    job = await client.submit("items")
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.FAILED
    assert "4 of 4 items failed" in (d.job.error_message or "")


def test_allow_failures_values() -> None:
    assert check_allow_failures("10%") == "10%" and check_allow_failures(3) == 3 and check_allow_failures("3") == 3
    for bad in (-1, "x", "101%", "1.5", True, "%", "²", 1.5):
        with pytest.raises(ValueError):
            check_allow_failures(bad)
    assert allowed("10%", 25) == 2 and allowed("100%", 7) == 7 and allowed(None, 9) == 0 and allowed("33.4%", 3) == 1
