"""Issue 18, `add` jobs: a claim rides the group commit (store/commit.py `ride`), and a job's slot is claimed for
as soon as its end is queued, so that one commit (one fsync) carries one job's end and the next one's claim."""

from __future__ import annotations

from typing import Any

import pytest

from jobtui import Context, JobType, Stage
from jobtui.store import Store
from jobtui.store.seam import Db
from tests.conftest import make_client, run_idle
from tests.store_inspect import sqlite_transactions


def _one_stage(name: str) -> JobType:
    async def fn(ctx: Context) -> dict[str, Any]:
        return {}

    return JobType(name, [Stage(fn, "only")])



def _ends(tx: list[str]) -> bool:
    return any(s.startswith("UPDATE jobs SET status = 'completed'") for s in tx)


def _claims(tx: list[str]) -> bool:
    return any(s.startswith("UPDATE jobs SET status = 'running', lease_owner") for s in tx)


async def test_a_claim_queued_beside_a_job_end_rides_its_group_commit_after_it(store: Store) -> None:
    client = make_client(store, _one_stage("t"))
    first = await client.submit("t")
    second = await client.submit("t")
    [claimed] = await store.claim("r1", 1, ["t"])
    assert claimed.job.job_id == first
    txs = await sqlite_transactions(store)
    store.job_completed(first, "r1", 1)
    pending = store.claim_soon("r1", 1, ["t"])
    assert pending is not None
    await store.commit_point()
    [next_one] = await pending
    assert next_one.job.job_id == second
    committed = [tx for tx in txs if tx and any(not s.startswith("SELECT") for s in tx)]
    assert len(committed) == 1, f"one commit for the end and the claim, not {len(committed)}: {committed}"
    assert _ends(committed[0]) and _claims(committed[0])
    statements = committed[0]
    assert statements.index(next(s for s in statements if _ends([s]))) < statements.index(
        next(s for s in statements if _claims([s]))), "the end is written before the claim reads the queue"


async def test_a_rider_that_fails_is_undone_alone(store: Store) -> None:
    client = make_client(store, _one_stage("t"))
    job = await client.submit("t")
    [_claimed] = await store.claim("r1", 1, ["t"])

    async def bad(db: Db) -> None:
        await db.execute("UPDATE jobs SET priority = 99 WHERE job_id = $1", (job,))
        await db.execute("SELECT no_such_column FROM jobs")

    store.job_completed(job, "r1", 1)
    ride = store.ride_soon(bad)
    await store.commit_point()
    with pytest.raises(Exception, match="no_such_column"):
        await ride
    got = await client.job(job)
    assert got.status.value == "completed", "the writes it rode with committed"
    assert got.priority != 99, "its own statements were undone"


async def test_the_slot_of_a_job_whose_end_is_queued_is_claimed_for_in_the_same_commit(store: Store) -> None:
    client = make_client(store, _one_stage("t"))
    for _ in range(6):
        await client.submit("t")
    txs = await sqlite_transactions(store)
    runner = await run_idle(client, concurrency=1)
    assert runner.jobs_done == 6
    both = [tx for tx in txs if _ends(tx) and _claims(tx)]
    assert len(both) >= 4, f"each end but the last carries the next claim: {[tx for tx in txs if _ends(tx)]}"


async def test_a_claim_riding_a_job_end_is_not_taken_for_a_stray_by_the_control_poll(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """Its jobs are ours in the store before they are in `runs`: a control poll between the two handed them back
    as strays, and their writes were then refused (found by bench_commands: jobs left `running`, the runner idle)."""
    client = make_client(store, _one_stage("t"))
    for _ in range(200):
        await client.submit("t")
    runner = await run_idle(client, concurrency=4, control_poll_s=0.0)
    assert runner.jobs_done == 200
    assert not [r for r in caplog.records if "refused" in r.getMessage()]
    assert {j.status.value for j in await client.list_jobs()} == {"completed"}
