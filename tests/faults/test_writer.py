"""Issue 6 (1): the group commit and the heartbeat survive any failure, and never drop a write quietly."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from jobtui import Runner
from jobtui.errors import StoreError
from jobtui.kinds import StopKind
from jobtui.model import JobStatus, RunnerInfo
from jobtui.store import NewJob, Store
from tests.conftest import make_client, wait_for
from tests.store_inspect import Executemany, replace_executemany


def new(n: int = 1) -> list[NewJob]:
    return [NewJob("t", {"i": i}, ("a",), (1,)) for i in range(n)]


def failing(monkeypatch: pytest.MonkeyPatch, make: Callable[[], BaseException], times: int) -> list[int]:
    """Make the next `times` executemany calls of the store's write transactions raise; return a call counter."""
    calls = [0]

    async def executemany(real: Executemany, sql: str, rows: Any) -> None:
        calls[0] += 1
        if calls[0] <= times:
            raise make()
        await real(sql, rows)

    replace_executemany(monkeypatch, executemany)
    return calls


async def test_a_non_sqlite_exception_in_the_writer_fails_its_waiters_and_later_commits_work(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug-like exception inside the group commit, again when retried alone: waiters hear of it at
    once (no hang), the jobs' owner is told, and the writer lives on."""
    [job] = await store.add_jobs(new())
    await store.register_runner(RunnerInfo("me", 1, "h", 0, store.clock(), 1))
    await store.claim("me", 1, ["t"])
    told: list[tuple[set[int], str]] = []
    store.on_dropped = lambda jobs, reason, _error: told.append((jobs, reason))
    failing(monkeypatch, lambda: RuntimeError("injected"), times=2)
    store.log(job, "info", "lost line")
    with pytest.raises(StoreError, match="RuntimeError: injected"):
        await asyncio.wait_for(store.commit_point(), 5)
    assert told == [({job}, StopKind.STORE)] and told[0][1] is StopKind.STORE
    store.log(job, "info", "later line")
    await asyncio.wait_for(store.commit_point(), 5)
    assert [line.message for line in await store.logs(job)] == ["later line"]


async def test_a_passing_database_error_keeps_the_batch_and_retries_it(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Disk full / locked in the middle of a group commit: nothing is dropped, the waiter waits, then all commits in order."""
    [job] = await store.add_jobs(new())

    def full() -> BaseException:
        e = sqlite3.OperationalError("database or disk is full")
        e.sqlite_errorcode = 13  # type: ignore[attr-defined]
        return e

    calls = failing(monkeypatch, full, times=3)
    for i in range(5):
        store.log(job, "info", f"line {i}")
    waiter = asyncio.ensure_future(store.commit_point())
    await wait_for(lambda: calls[0] >= 1)
    store.log(job, "info", "line 5")  # queued while the first batch fails: it joins, after it
    await asyncio.wait_for(waiter, 10)
    await store.commit_point()
    assert calls[0] >= 4 and not store.stalled
    assert [line.message for line in await store.logs(job)] == [f"line {i}" for i in range(6)]


async def test_the_heartbeat_survives_any_exception(store: Store) -> None:
    """An unexpected exception in one heartbeat does not end the heartbeat task (the lease would lapse)."""
    client = make_client(store)
    runner = Runner(store, client.registry, lease_ttl_s=0.6, poll_s=0.05)
    real = store.heartbeat
    calls = [0]

    async def heartbeat(runner_id: str) -> bool:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("injected")
        return await real(runner_id)

    store.heartbeat = heartbeat  # type: ignore[method-assign]
    task = asyncio.ensure_future(runner.run())
    try:
        await wait_for(lambda: calls[0] >= 3, timeout=10)
        [info] = await store.runners()
        assert store.clock() - info.heartbeat_at_ms < 1000, "the lease was renewed after the failure"
        assert info.lease_ttl_ms == 600
    finally:
        runner.stop()
        await asyncio.wait_for(task, 10)


async def test_a_runner_refuses_an_absurd_lease_ttl(store: Store) -> None:
    client = make_client(store)
    for ttl in (0, -1, float("nan"), float("inf"), 86_401):
        with pytest.raises(ValueError, match="lease TTL"):
            Runner(store, client.registry, lease_ttl_s=ttl)


async def test_each_runner_is_judged_by_its_own_lease_ttl(store: Store) -> None:
    """Issue 6 (3a): a runner with a long lease and an old heartbeat is alive for one with a short lease."""
    ids = await store.add_jobs(new(2))
    now = store.clock()
    await store.register_runner(RunnerInfo("long", 1, "h", now, now - 10_000, 1, 60_000))
    await store.register_runner(RunnerInfo("short", 1, "h", now, now - 10_000, 1, 3_000))
    await store.claim("long", 1, ["t"])
    await store.claim("short", 1, ["t"])
    recovered = await store.recover(self_id="me", ttl_ms=1_000, is_dead=lambda info: False)
    assert [(j, b, a) for j, b, a in recovered] == [(ids[1], JobStatus.RUNNING, JobStatus.QUEUED)]
    assert [r.runner_id for r in await store.runners()] == ["long"]


async def test_a_commit_that_fails_once_is_retried_job_by_job_and_counters_stay_true(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group commit fails once mid-run (not a passing condition): it is retried job by job (issue 14,
    item 1), so nothing is dropped, nothing runs again, and each job ends with exactly its items counted."""
    from jobtui import Context, JobType, Stage

    ran: list[int] = []

    async def work(ctx: Context) -> int:
        async def one(i: int) -> int:
            ran.append(i)
            if i % 50 == 49:
                # Force group-commit boundaries: on a loaded machine everything could otherwise
                # share one commit, and the injected failure would never come mid-run.
                await store.commit_point()
            await asyncio.sleep(0)  # sleep: yield to the event loop once
            return i

        async for _ in ctx.items(range(400), one, workers=4):
            pass
        return len(await ctx.results())

    client = make_client(store, JobType("w", [Stage(work)]))
    [a, b] = [await client.submit("w") for _ in range(2)]
    calls = [0]

    async def once_midway(real: Executemany, sql: str, rows: Any) -> None:
        if sql.startswith("INSERT INTO items"):
            calls[0] += 1
            if calls[0] == 3:  # the third group commit with item results: some are committed before it
                raise RuntimeError("injected")
        await real(sql, rows)

    replace_executemany(monkeypatch, once_midway)
    runner = Runner(store, client.registry, concurrency=2, poll_s=0.05)
    await asyncio.wait_for(runner.run(exit_when_idle=True), 30)
    assert calls[0] > 3, "the failure happened mid-run"
    for job in (a, b):
        detail = await client.detail(job)
        assert detail.job.status is JobStatus.COMPLETED
        assert detail.job.items_done == 400 and detail.stages[0].items_done == 400
        assert len(await store.item_results(job, 0)) == 400
    assert len(ran) == 800, "a commit that failed once was retried job by job: nothing dropped, nothing redone"
    messages: list[str] = []
    for job in (a, b):
        messages += [line.message for line in await store.logs(job)]
    assert not any("handed back" in m or "refused" in m for m in messages), "neither job was stopped"
