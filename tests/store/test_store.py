"""The store on real files: group commit, ordering, migrations, atomic claims."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from jobtui.errors import StoreError
from jobtui.kinds import StopKind
from jobtui.model import Action, JobStatus, RunnerInfo, StageStatus
from jobtui.store import NewJob, Store
from jobtui.store.schema import MIGRATIONS
from tests.conftest import wait_for


def new(n: int = 1, stages: tuple[str, ...] = ("a", "b")) -> list[NewJob]:
    return [NewJob("t", {"i": i}, stages, (1,) * len(stages)) for i in range(n)]


def read(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def test_schema_version_and_reopen(db_path: Path) -> None:
    s = await Store.open(db_path)
    await s.close()
    assert read(db_path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert read(db_path, "PRAGMA journal_mode") == [("wal",)]
    s = await Store.open(db_path)
    assert await s.integrity_check() == "ok"
    await s.close()


async def test_commit_point_returns_only_once_durable(store: Store, db_path: Path) -> None:
    [job] = await store.add_jobs(new())
    for i in range(50):
        store.log(job, "info", f"line {i}")
    assert read(db_path, "SELECT count(*) FROM logs") == [(0,)]
    await store.commit_point()
    assert read(db_path, "SELECT count(*) FROM logs") == [(50,)]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_commit_point_also_waits_for_a_flush_in_flight(store: Store, db_path: Path) -> None:
    """Issue 8: this test can fail. A big batch is taken by the writer (the queue is empty) and is being
    committed; a commit_point that looked only at the queue would return before that commit."""
    [job] = await store.add_jobs(new())
    n = 100_000
    for i in range(n):
        store.log(job, "info", f"line {i}")
    first = asyncio.create_task(store.commit_point())  # wakes the writer, which takes the batch
    # White box: the batch is taken (queue empty) and its commit is still running.
    await wait_for(lambda: first.done() or store._batch.size == 0, every=0.001)
    assert not first.done(), "the flush was too quick to observe; raise n"
    await store.commit_point()
    assert first.done(), "commit_point returned while a write queued before it was still in flight"
    assert read(db_path, "SELECT count(*) FROM logs") == [(n,)]


async def test_many_concurrent_checkpoints_share_few_commits(store: Store) -> None:
    ids = await store.add_jobs(new(500))
    before = store.commits

    async def checkpoint(job: int) -> None:
        store.stage_finished(job, 0, {"ok": job})
        await store.commit_point()

    await asyncio.gather(*(checkpoint(j) for j in ids))
    assert store.commits - before <= 10
    rows = read(store.path, "SELECT count(*) FROM stages WHERE status = 'completed'")
    assert rows == [(500,)]


async def test_writes_of_one_batch_apply_in_rank_order(store: Store) -> None:
    [job] = await store.add_jobs(new())
    # Queued in the opposite order to their ranks on purpose: the commit orders them.
    store.stage_finished(job, 0, "out")
    store.stage_started(job, 0, 1, 1)
    await store.commit_point()
    d = await store.get_detail(job)
    assert d.stages[0].status is StageStatus.COMPLETED


async def test_a_failed_batch_reports_to_its_waiters_and_the_next_one_works(store: Store) -> None:
    [job] = await store.add_jobs(new())
    store.item_finished(9999, 0, "k", True, None, None, 1)  # no such job: the foreign key refuses it
    with pytest.raises(StoreError):
        await store.commit_point()
    store.log(job, "info", "after")
    await store.commit_point()
    assert [line.message for line in await store.logs(job)] == ["after"]


async def test_two_connections_never_claim_the_same_job(db_path: Path) -> None:
    a = await Store.open(db_path)
    b = await Store.open(db_path)
    try:
        await a.add_jobs([NewJob("t", {}, ("s",), (1,)) for _ in range(200)])
        for s, rid in ((a, "ra"), (b, "rb")):
            await s.register_runner(RunnerInfo(rid, 1, "h", 0, s.clock(), 1))

        async def claim_all(s: Store, rid: str) -> list[int]:
            got: list[int] = []
            while True:
                batch = await s.claim(rid, 7, ["t"])
                if not batch:
                    return got
                got += [c.job.job_id for c in batch]

        ra, rb = await asyncio.gather(claim_all(a, "ra"), claim_all(b, "rb"))
        assert not set(ra) & set(rb)
        assert len(ra) + len(rb) == 200
        owners = dict(read(db_path, "SELECT lease_owner, count(*) FROM jobs GROUP BY lease_owner"))
        assert owners == {k: v for k, v in (("ra", len(ra)), ("rb", len(rb))) if v}
    finally:
        await a.close()
        await b.close()


async def test_recovery_releases_jobs_of_a_runner_whose_lease_expired(store: Store) -> None:
    ids = await store.add_jobs(new(3))
    now = store.clock()
    await store.register_runner(RunnerInfo("old", 1, "elsewhere", now - 60_000, now - 60_000, 3))
    claimed = await store.claim("old", 3, ["t"])
    assert len(claimed) == 3
    await store.control(ids[1], Action.PAUSE)
    recovered = await store.recover(self_id="new", ttl_ms=15_000, is_dead=lambda info: False)
    assert sorted((j, b.value, a.value) for j, b, a in recovered) == [
        (ids[0], "running", "queued"), (ids[1], "pausing", "paused"), (ids[2], "running", "queued")]
    job = await store.get_job(ids[0])
    assert job.status is JobStatus.QUEUED and job.recovery_count == 1 and job.lease_owner is None
    assert [r.runner_id for r in await store.runners()] == []


async def test_lease_fence_refuses_writes_for_a_job_the_runner_no_longer_holds(store: Store) -> None:
    """Issue 6 (3b): a group commit checks that this runner holds the JOB, not only that its row exists."""
    [job, other] = await store.add_jobs(new(2))
    await store.register_runner(RunnerInfo("me", 1, "h", 0, store.clock(), 1))
    assert [c.job.job_id for c in await store.claim("me", 2, ["t"])] == [job, other]
    told: list[tuple[set[int], str]] = []
    store.fence = "me"
    store.on_dropped = lambda jobs, reason, _error: told.append((jobs, reason))
    store.log(job, "info", "while holding")
    await store.commit_point()
    # Another runner took `job` (our runner row still exists): our later writes for it are refused,
    # those for `other` (still ours) commit.
    async with store._tx() as db:
        await db.execute("UPDATE jobs SET lease_owner = 'them' WHERE job_id = $1", (job,))
    store.log(job, "info", "after losing")
    store.log(other, "info", "still mine")
    await store.commit_point()
    store.fence = None
    store.on_dropped = None
    assert [line.message for line in await store.logs(job)] == ["while holding"]
    assert [line.message for line in await store.logs(other)] == ["still mine"]
    assert told == [({job}, StopKind.LOST)] and told[0][1] is StopKind.LOST
    assert told == [({job}, "lost")]


async def test_a_version_1_database_is_migrated_in_place(db_path: Path) -> None:
    con = sqlite3.connect(db_path)
    con.executescript(MIGRATIONS[0])
    con.execute("PRAGMA user_version = 1")
    con.execute("INSERT INTO jobs (type, status, params, stage_names, created_at_ms, updated_at_ms)"
                " VALUES ('t', 'queued', '{}', '[\"a\"]', 1, 1)")
    con.commit()
    con.close()
    s = await Store.open(db_path)
    try:
        assert (await s.get_job(1)).type == "t"
        assert read(db_path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
        assert read(db_path, "SELECT count(*) FROM files") == [(0,)]
    finally:
        await s.close()


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_a_transaction_cancelled_while_waiting_for_the_lock_leaves_the_connection_usable(db_path: Path) -> None:
    """A task cancelled while its BEGIN IMMEDIATE waits on another process's lock (a runner's heartbeat
    at shutdown): the BEGIN still completes on aiosqlite's thread, and must not leave the connection
    inside a transaction that makes every later write fail."""
    store = await Store.open(db_path, busy_timeout_ms=3_000)
    try:
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        loop = asyncio.get_running_loop()
        began = asyncio.Event()

        def traced(sql: str) -> None:  # on aiosqlite's thread, as a statement starts (before any busy wait)
            if sql.startswith("BEGIN IMMEDIATE"):
                loop.call_soon_threadsafe(began.set)

        await store._conn.raw.set_trace_callback(traced)  # type: ignore[attr-defined]
        task = asyncio.create_task(store.claim("r1", 1, ["t"]))
        await asyncio.wait_for(began.wait(), 10)  # the BEGIN runs: it now waits in SQLite's busy handler
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        other.execute("COMMIT")
        other.close()
        assert await store.claim("r1", 1, ["t"]) == []  # "cannot start a transaction within a transaction" before
    finally:
        await store.close()
