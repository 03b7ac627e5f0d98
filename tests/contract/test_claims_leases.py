"""Contract: claims, leases, fencing of a stale runner, recovery (every backend must pass)."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from jobtui.errors import StoreError
from jobtui.model import Action, JobStatus, RunnerInfo, StageStatus
from jobtui.store import JobStore
from tests.clock import FakeClock
from tests.contract.conftest import OpenStore, new_job


def runner(store: JobStore, rid: str, *, ttl_ms: int | None = 60_000) -> RunnerInfo:
    now = store.clock()
    return RunnerInfo(rid, os.getpid(), socket.gethostname(), now, now, 4, ttl_ms)


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_claim_by_priority_then_age_with_stage_records(store: JobStore) -> None:
    ids = await store.add_jobs([new_job(), new_job(priority=5), new_job(), new_job(type="other")])
    await store.register_runner(runner(store, "r1"))
    got = await store.claim("r1", 2, ["t"])
    assert [c.job.job_id for c in got] == [ids[1], ids[0]]
    for c in got:
        assert c.job.status is JobStatus.RUNNING and c.job.lease_owner == "r1"
        assert [(s.index, s.name, s.status) for s in c.stages] == [
            (0, "a", StageStatus.PENDING), (1, "b", StageStatus.PENDING)]
    rest = await store.claim("r1", 10, ["t"])
    assert [c.job.job_id for c in rest] == [ids[2]]
    assert await store.claim("r1", 10, ["t"]) == []
    assert (await store.get_job(ids[3])).status is JobStatus.QUEUED
    assert await store.claim("r1", 0, ["other"]) == []


async def test_claim_skips_delayed_and_takes_due_retries(store: JobStore) -> None:
    later = store.clock() + 3_600_000
    delayed, due = await store.add_jobs([new_job(run_at_ms=later), new_job(run_at_ms=store.clock() - 1)])
    assert [c.job.job_id for c in await store.claim("r1", 10, ["t"])] == [due]
    assert await store.next_due_ms(["t"]) == later
    assert await store.has_runnable(["t"])
    assert not await store.has_runnable(["nothing"])
    assert (await store.get_job(delayed)).status is JobStatus.QUEUED


async def test_two_runners_never_claim_the_same_job(open_store: OpenStore) -> None:
    """Claims from two connections at once split the queue: no job is handed out twice."""
    a, b = await open_store(), await open_store()
    ids = await a.add_jobs([new_job() for _ in range(40)])

    async def take(s: JobStore, rid: str) -> list[int]:
        out: list[int] = []
        while True:
            got = await s.claim(rid, 3, ["t"])
            if not got:
                return out
            out += [c.job.job_id for c in got]

    ga, gb = await asyncio.gather(take(a, "ra"), take(b, "rb"))
    assert sorted(ga + gb) == ids
    assert not set(ga) & set(gb)
    owners = {j.job_id: j.lease_owner for j in await a.list_jobs()}
    assert all(owners[i] == "ra" for i in ga) and all(owners[i] == "rb" for i in gb)


async def test_heartbeat_and_unregister(store: JobStore) -> None:
    await store.register_runner(runner(store, "r1"))
    assert await store.heartbeat("r1")
    assert [r.runner_id for r in await store.runners()] == ["r1"]
    assert [r.runner_id for r in (await store.stats()).runners] == ["r1"]
    await store.unregister_runner("r1")
    assert not await store.heartbeat("r1")
    assert await store.runners() == []


async def test_recovery_of_a_dead_runner(open_store: OpenStore) -> None:
    """A runner whose lease expired loses its jobs: running → queued (counted), pausing → paused,
    cancelling → cancelled; the stage in flight is interrupted; its heartbeat then says it lost."""
    clock = FakeClock()
    live, dead = await open_store(clock=clock), await open_store(clock=clock)
    await dead.register_runner(runner(dead, "dead", ttl_ms=1))
    await live.register_runner(runner(live, "live"))
    run, pause, cancel = await live.add_jobs([new_job(), new_job(), new_job()])
    assert len(await dead.claim("dead", 3, ["t"])) == 3
    dead.stage_started(run, 0, 1, 1)
    await dead.commit_point()
    await live.control(pause, Action.PAUSE)
    await live.control(cancel, Action.CANCEL)
    clock.advance(50)  # the dead runner's 1 ms lease has expired
    got = await live.recover(self_id="live", ttl_ms=60_000, is_dead=lambda info: False)
    assert sorted(got) == sorted([
        (run, JobStatus.RUNNING, JobStatus.QUEUED),
        (pause, JobStatus.PAUSING, JobStatus.PAUSED),
        (cancel, JobStatus.CANCELLING, JobStatus.CANCELLED),
    ])
    job = await live.get_job(run)
    assert job.status is JobStatus.QUEUED and job.lease_owner is None and job.recovery_count == 1
    detail = await live.get_detail(run)
    assert detail.stages[0].status is StageStatus.INTERRUPTED
    assert not await dead.heartbeat("dead")
    assert [r.runner_id for r in await live.runners()] == ["live"]
    assert any(r.action == "recover" for r in await live.requests(run))
    # Recovery is idempotent: nothing more to do.
    assert await live.recover(self_id="live", ttl_ms=60_000, is_dead=lambda info: False) == []


async def test_a_live_runner_keeps_its_jobs(open_store: OpenStore) -> None:
    a, b = await open_store(), await open_store()
    await a.register_runner(runner(a, "a"))
    await b.register_runner(runner(b, "b"))
    (jid,) = await a.add_jobs([new_job()])
    await a.claim("a", 1, ["t"])
    assert await b.recover(self_id="b", ttl_ms=60_000, is_dead=lambda info: False) == []
    assert (await b.get_job(jid)).lease_owner == "a"
    # A process known dead loses its lease at once, whatever its heartbeat.
    got = await b.recover(self_id="b", ttl_ms=60_000, is_dead=lambda info: info.runner_id == "a")
    assert got == [(jid, JobStatus.RUNNING, JobStatus.QUEUED)]


async def test_fencing_a_stale_runner_writes_nothing(open_store: OpenStore) -> None:
    """A runner taken for dead (frozen past its lease) must not write over the runner that took its job."""
    clock = FakeClock()
    stale, fresh = await open_store(clock=clock), await open_store(clock=clock)
    await stale.register_runner(runner(stale, "stale", ttl_ms=1))
    stale.fence = "stale"
    (jid,) = await stale.add_jobs([new_job()])
    assert len(await stale.claim("stale", 1, ["t"])) == 1
    stale.stage_started(jid, 0, 1, 1)
    await stale.commit_point()
    clock.advance(50)  # the stale runner's 1 ms lease has expired
    await fresh.register_runner(runner(fresh, "fresh"))
    fresh.fence = "fresh"
    assert await fresh.recover(self_id="fresh", ttl_ms=60_000, is_dead=lambda i: False)
    assert [c.job.job_id for c in await fresh.claim("fresh", 1, ["t"])] == [jid]
    dropped: list[tuple[set[int], str]] = []
    stale.on_dropped = lambda jobs, why, _error: dropped.append((jobs, why))
    stale.stage_finished(jid, 0, {"from": "stale"})
    stale.item_finished(jid, 1, "k", True, "stale", None, 1)
    stale.job_completed(jid, "stale", 2)
    try:
        await stale.commit_point()
    except StoreError:
        pass  # a backend may fail the waiter instead of dropping silently; either way nothing is written
    job = await fresh.get_job(jid)
    assert job.status is JobStatus.RUNNING and job.lease_owner == "fresh"
    detail = await fresh.get_detail(jid)
    assert detail.stages[0].status is not StageStatus.COMPLETED
    assert await fresh.item_results(jid, 1) == {}
    assert dropped and jid in dropped[0][0]


async def test_owned_requests_show_control(open_store: OpenStore) -> None:
    from jobtui.model import Action

    r, cli = await open_store(), await open_store()
    a, b = await cli.add_jobs([new_job(), new_job()])
    await r.claim("r1", 2, ["t"])
    assert await r.owned_requests("r1", expected=2) is None
    await cli.control(a, Action.PAUSE)
    assert await r.owned_requests("r1", expected=2) == {a: JobStatus.PAUSING, b: JobStatus.RUNNING}
    assert await r.owned_requests("r1") == {a: JobStatus.PAUSING, b: JobStatus.RUNNING}
    r.job_paused(a, "r1", "paused by request")
    await r.commit_point()
    assert (await cli.get_job(a)).status is JobStatus.PAUSED
    assert await r.owned_requests("r1", expected=1) is None


@pytest.mark.parametrize("end", ["completed", "failed", "waiting_retry", "released"])
async def test_job_ends_need_the_lease(store: JobStore, end: str) -> None:
    """An end written by a runner that does not hold the job changes nothing."""
    (jid,) = await store.add_jobs([new_job()])
    await store.claim("owner", 1, ["t"])
    for rid in ("intruder", "owner"):
        if end == "completed":
            store.job_completed(jid, rid, 2)
        elif end == "failed":
            store.job_failed(jid, rid, "a", "boom", retry_at_ms=None)
        elif end == "waiting_retry":
            store.job_failed(jid, rid, "a", "boom", retry_at_ms=store.clock() + 60_000)
        else:
            store.job_released(jid, rid)
        await store.commit_point()
        job = await store.get_job(jid)
        if rid == "intruder":
            assert job.status is JobStatus.RUNNING and job.lease_owner == "owner"
    want = {"completed": JobStatus.COMPLETED, "failed": JobStatus.FAILED,
            "waiting_retry": JobStatus.WAITING_RETRY, "released": JobStatus.QUEUED}[end]
    assert job.status is want and job.lease_owner is None
