"""Issue 18, `add` jobs: a started command's pid row, whose containment is committed already, starts no group commit
(an fsync) of its own: it rides the next one, at the latest store.commit.LAZY_S later."""

from __future__ import annotations

import asyncio
from typing import Any

from jobtui import Context, JobType, Stage
from jobtui.model import ProcessRecord
from jobtui.store import Store
from tests.conftest import make_client, wait_for


def _one_stage(name: str) -> JobType:
    async def fn(ctx: Context) -> dict[str, Any]:
        return {}

    return JobType(name, [Stage(fn, "only")])


async def test_a_pid_row_rides_the_next_commit_and_is_committed_soon_without_one(store: Store) -> None:
    client = make_client(store, _one_stage("t"))
    job = await client.submit("t")
    [_claimed] = await store.claim("r1", 1, ["t"])
    ahead = ProcessRecord(job, 0, "", 0, 0, 0, "boot", "r1", ("true",), None, store.clock(), token="tok")
    await store.process_started(ahead)  # the containment: committed before the fork
    before = store.commits
    store.process_queued(ProcessRecord(job, 0, "", 4242, 4242, 7, "boot", "r1", ("true",), None, store.clock(),
                                       token="tok"))
    for _ in range(5):
        await asyncio.sleep(0)  # sleep: turns of the loop in which a woken writer would take the batch
    assert store.pending == 1 and store.commits == before, "it started no commit of its own"
    await wait_for(lambda: store.commits > before, what="the pid row committed without another write")
    [row] = await store.processes(job)
    assert row.pid == 4242


async def test_a_pid_row_joins_the_commit_another_write_starts(store: Store) -> None:
    client = make_client(store, _one_stage("t"))
    job = await client.submit("t")
    [_claimed] = await store.claim("r1", 1, ["t"])
    await store.process_started(ProcessRecord(job, 0, "", 0, 0, 0, "boot", "r1", ("true",), None, store.clock(),
                                              token="tok"))
    before = store.commits
    store.process_queued(ProcessRecord(job, 0, "", 4242, 4242, 7, "boot", "r1", ("true",), None, store.clock(),
                                       token="tok"))
    store.job_completed(job, "r1", 1)
    await store.commit_point()
    assert store.commits == before + 1
    [row] = await store.processes(job)
    assert row.pid == 4242
