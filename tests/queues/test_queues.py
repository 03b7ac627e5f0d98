"""Issue 21 item 1: queues in one process (a real SQLite file, the real runner): pause, slots, defaults, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from jobtui import Context, JobType, Runner
from jobtui.client import Client
from jobtui.errors import UsageError
from jobtui.model import JobStatus, QueueLimits
from jobtui.store import Store
from tests.conftest import make_client, wait_for


class Gate:
    """Jobs that wait (at safe points) until opened, noting their slots while they run."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.running: dict[int, int | None] = {}
        self.shared: list[tuple[int, int]] = []
        self.seen_slots: list[int | None] = []

    def job_type(self, name: str = "gated", queue: str | None = None) -> JobType:
        async def work(ctx: Context) -> None:
            if ctx.slot is not None and ctx.slot in self.running.values():
                self.shared.append((ctx.job_id, ctx.slot))
            self.running[ctx.job_id] = ctx.slot
            self.seen_slots.append(ctx.slot)
            try:
                while not self.open.is_set():
                    await ctx.checkpoint()
                    await asyncio.sleep(0.01)  # sleep: a stage that works until told to finish
            finally:
                del self.running[ctx.job_id]

        return JobType(name, [work], queue=queue)


@asynccontextmanager
async def running(client: Client, concurrency: int = 8) -> AsyncIterator[Runner]:
    runner = Runner(client.store, client.registry, concurrency=concurrency, poll_s=0.05)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        runner.stop()
        await task


async def statuses(client: Client, ids: list[int]) -> list[JobStatus]:
    return [(await client.job(j)).status for j in ids]


async def test_concurrency_in_one_runner_and_slots_never_shared(store: Store) -> None:
    gate = Gate()
    client = make_client(store, gate.job_type())
    await client.add_queue("gpu", QueueLimits(concurrency=2, slots=True))
    ids = [await client.submit("gated", queue="gpu") for _ in range(5)]
    async with running(client):
        await wait_for(lambda: len(gate.running) == 2, what="two jobs running")
        assert sorted(s for s in gate.running.values() if s is not None) == [0, 1]
        assert (await client.queue("gpu")).running == 2
        gate.open.set()
        await wait_for(lambda: _all(client, ids, JobStatus.COMPLETED), what="all completed")
    assert gate.shared == [] and set(gate.seen_slots) == {0, 1}
    assert {(await client.job(j)).slot for j in ids} == {0, 1}


async def _all(client: Client, ids: list[int], status: JobStatus) -> bool:
    return all(s is status for s in await statuses(client, ids))


async def test_a_paused_queue_starts_nothing_and_resume_lets_it_run(store: Store) -> None:
    gate = Gate()
    gate.open.set()
    client = make_client(store, gate.job_type())
    await client.add_queue("q", QueueLimits())
    await client.pause_queue("q")
    held = [await client.submit("gated", queue="q") for _ in range(2)]
    free = await client.submit("gated")
    async with running(client):
        await wait_for(lambda: _all(client, [free], JobStatus.COMPLETED), what="the job in no queue completed")
        assert await statuses(client, held) == [JobStatus.QUEUED] * 2, "a paused queue's jobs wait"
        q, resumed = await client.resume_queue("q")
        assert not q.paused and resumed == []
        await wait_for(lambda: _all(client, held, JobStatus.COMPLETED), what="the queue's jobs completed")


async def test_pause_now_pauses_running_jobs_and_resume_resumes_only_those(store: Store) -> None:
    gate = Gate()
    client = make_client(store, gate.job_type())
    await client.add_queue("q", QueueLimits(concurrency=2))
    a, b = [await client.submit("gated", queue="q") for _ in range(2)]
    async with running(client):
        await wait_for(lambda: len(gate.running) == 2, what="both running")
        q, paused = await client.pause_queue("q", now=True)
        assert q.paused and sorted(paused) == [a, b]
        await wait_for(lambda: _all(client, [a, b], JobStatus.PAUSED), what="both paused")
        await client.resume(b)
        await client.pause(b)  # a person's own pause of b: the queue's resume leaves it alone
        await wait_for(lambda: _all(client, [b], JobStatus.PAUSED))
        await wait_for(lambda: not gate.running)
        gate.open.set()
        q, resumed = await client.resume_queue("q")
        assert not q.paused and resumed == [a]
        await wait_for(lambda: _all(client, [a], JobStatus.COMPLETED), what="a completed")
        assert await statuses(client, [b]) == [JobStatus.PAUSED]


async def test_a_type_names_its_default_queue(store: Store) -> None:
    gate = Gate()
    client = make_client(store, gate.job_type("ocr", queue="ocr"))
    with pytest.raises(UsageError, match="no queue 'ocr'"):
        await client.submit("ocr")
    await client.add_queue("ocr", QueueLimits(concurrency=1))
    await client.add_queue("other", QueueLimits())
    assert (await client.job(await client.submit("ocr"))).queue == "ocr"
    assert (await client.job(await client.submit("ocr", queue="other"))).queue == "other"
    assert [j.job_id for j in await client.list_jobs(queue="other")] == [2]


async def test_edit_and_remove(store: Store) -> None:
    gate = Gate()
    client = make_client(store, gate.job_type())
    with pytest.raises(UsageError, match="--slots numbers"):
        await client.add_queue("q", QueueLimits(slots=True))
    await client.add_queue("q", QueueLimits(concurrency=1))
    with pytest.raises(UsageError, match="exists"):
        await client.add_queue("q", QueueLimits())
    q = await client.edit_queue("q", QueueLimits(concurrency=3, rate_count=5, rate_window_ms=10_000))
    assert (q.limits.concurrency, q.limits.rate_text()) == (3, "5/10s")
    job = await client.submit("gated", queue="q")
    with pytest.raises(UsageError, match="still has 1 job"):
        await client.remove_queue("q")
    await client.delete(job)
    await client.remove_queue("q")
    assert await client.queues() == []


@pytest.mark.slow  # a real runner and a frozen command
async def test_a_frozen_job_resumed_in_a_full_queue_continues_in_its_slot(client: Client, tmp_path: Path) -> None:
    """A paused (frozen) command keeps its queue's only slot; resumed, it continues there, not blocked by itself."""
    from tests.commands.helpers import running as commands_running
    from tests.commands.helpers import spec

    await client.add_queue("one", QueueLimits(concurrency=1, slots=True))
    out = tmp_path / "out"
    script = (f"echo start $JOBTUI_SLOT >> {out}; i=0; while [ $i -lt 150 ]; do i=$((i+1)); sleep 0.02; done;"
              f" echo end $JOBTUI_SLOT >> {out}")
    job = await client.submit("command", {"stages": [spec(script)]}, queue="one")
    other = await client.submit("command", {"stages": [spec(f"echo other $JOBTUI_SLOT >> {out}")]}, queue="one")
    async with commands_running(client):
        await wait_for(lambda: out.exists() and out.read_text().startswith("start 0"), what="the job started")
        await client.pause(job)
        await wait_for(lambda: _all(client, [job], JobStatus.PAUSED), what="paused")
        assert (await client.job(job)).held, "its command is frozen and held"
        assert (await client.queue("one")).running == 0 and await statuses(client, [other]) == [JobStatus.QUEUED], \
            "the frozen job keeps the slot: the other job waits"
        await client.resume(job)
        await wait_for(lambda: _all(client, [job, other], JobStatus.COMPLETED), timeout=30, what="both completed")
    assert out.read_text().split("\n")[:3] == ["start 0", "end 0", "other 0"]
