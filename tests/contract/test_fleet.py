"""Contract: runner names and tags, the tags a job needs, and who holds what (issue 10, point 4).

Every backend must claim a job only for a runner that has every tag the job needs, keep a runner's
tags exactly as long as its row, and read names, tags, needs and held jobs back the same way.
"""

from __future__ import annotations

import os
import socket

from jobtui.model import JobStatus, RunnerInfo
from jobtui.store import Store
from tests.clock import FakeClock
from tests.contract.conftest import OpenStore, new_job


def runner(store: Store, rid: str, *tags: str, name: str | None = None, ttl_ms: int = 60_000) -> RunnerInfo:
    now = store.clock()
    return RunnerInfo(rid, os.getpid(), socket.gethostname(), now, now, 4, ttl_ms, name, tuple(sorted(tags)))


async def test_claim_takes_only_jobs_whose_needs_the_runner_has(store: Store) -> None:
    plain, gpu, both, disk = await store.add_jobs([
        new_job(), new_job(needs=("gpu",)), new_job(needs=("big-disk", "gpu")), new_job(needs=("big-disk",))])
    await store.register_runner(runner(store, "none"))
    await store.register_runner(runner(store, "g", "gpu"))
    await store.register_runner(runner(store, "gb", "gpu", "big-disk", "extra"))
    assert [c.job.job_id for c in await store.claim("none", 10, ["t"])] == [plain]
    assert [c.job.job_id for c in await store.claim("g", 10, ["t"])] == [gpu]
    assert [c.job.job_id for c in await store.claim("gb", 10, ["t"])] == [both, disk]
    assert await store.claim("none", 10, ["t"]) == []


async def test_a_runner_without_a_row_claims_only_jobs_that_need_nothing(store: Store) -> None:
    """Tags come from the runner's row: one never registered (or reclaimed) has none."""
    plain, _gpu = await store.add_jobs([new_job(), new_job(needs=("gpu",))])
    assert [c.job.job_id for c in await store.claim("ghost", 10, ["t"])] == [plain]


async def test_waiting_retry_jobs_go_only_to_a_fitting_runner(open_store: OpenStore) -> None:
    clock = FakeClock()
    store = await open_store(clock=clock)
    [job] = await store.add_jobs([new_job(needs=("gpu",))])
    await store.register_runner(runner(store, "g", "gpu"))
    await store.register_runner(runner(store, "cpu"))
    await store.claim("g", 1, ["t"])
    store.job_failed(job, "g", "a", "boom", retry_at_ms=clock.now + 1000)
    await store.commit_point()
    assert (await store.get_job(job)).status is JobStatus.WAITING_RETRY
    clock.advance(2000)
    assert await store.claim("cpu", 10, ["t"]) == []
    assert [c.job.job_id for c in await store.claim("g", 10, ["t"])] == [job]


async def test_registering_again_replaces_name_and_tags(store: Store) -> None:
    await store.register_runner(runner(store, "r1", "gpu", "ssd", name="box-a"))
    await store.register_runner(runner(store, "r2", name="box-b"))
    got = {r.runner_id: r for r in await store.runners()}
    assert (got["r1"].name, got["r1"].tags) == ("box-a", ("gpu", "ssd"))
    assert (got["r2"].name, got["r2"].tags, got["r2"].label) == ("box-b", (), "box-b")
    await store.register_runner(runner(store, "r1", "arm", name="box-a2"))
    got = {r.runner_id: r for r in await store.runners()}
    assert (got["r1"].name, got["r1"].tags) == ("box-a2", ("arm",))
    await store.add_jobs([new_job(needs=("gpu",))])
    assert await store.claim("r1", 1, ["t"]) == [], "the old tag is gone"


async def test_tags_go_with_the_runner_row(open_store: OpenStore) -> None:
    """Unregistered or recovered, a runner leaves no tags behind that a new runner of that id would inherit."""
    clock = FakeClock()
    store = await open_store(clock=clock)
    [gpu] = await store.add_jobs([new_job(needs=("gpu",))])
    await store.register_runner(runner(store, "quits", "gpu"))
    await store.unregister_runner("quits")
    assert await store.claim("quits", 1, ["t"]) == []
    await store.register_runner(runner(store, "dies", "gpu", ttl_ms=1000))
    await store.register_runner(runner(store, "me"))
    clock.advance(5000)
    await store.heartbeat("me")
    await store.recover(self_id="me", ttl_ms=1000, is_dead=lambda _r: False)
    assert [r.runner_id for r in await store.runners()] == ["me"]
    assert await store.claim("dies", 1, ["t"]) == [], "a reclaimed runner's tags went with its row"
    assert (await store.get_job(gpu)).status is JobStatus.QUEUED


async def test_needs_are_read_back_sorted_once_each(store: Store) -> None:
    a, b, c = await store.add_jobs([new_job(needs=("ssd", "gpu")), new_job(), new_job(needs=("gpu",))])
    assert await store.job_needs([a, b, c, 999]) == {a: ("gpu", "ssd"), c: ("gpu",)}
    assert await store.job_needs([]) == {}
    assert (await store.get_detail(a)).needs == ("gpu", "ssd")
    assert (await store.get_detail(b)).needs == ()
    assert (await store.get_detail(a)).to_dict()["needs"] == ["gpu", "ssd"]


async def test_job_needs_reads_many_ids(store: Store) -> None:
    """More ids than one IN list holds are read in chunks."""
    ids = await store.add_jobs([new_job(needs=("gpu",) if i % 3 == 0 else ()) for i in range(1200)])
    got = await store.job_needs(ids)
    assert sorted(got) == [j for i, j in enumerate(ids) if i % 3 == 0]


async def test_deleting_a_job_deletes_its_needs(store: Store) -> None:
    from jobtui.model import Action

    [job] = await store.add_jobs([new_job(needs=("gpu",))])
    await store.control(job, Action.CANCEL)
    await store.control(job, Action.DELETE)
    assert await store.job_needs([job]) == {}


async def test_held_jobs_by_runner(store: Store) -> None:
    ids = await store.add_jobs([new_job() for _ in range(3)])
    await store.register_runner(runner(store, "a"))
    await store.register_runner(runner(store, "b"))
    await store.claim("a", 2, ["t"])
    await store.claim("b", 2, ["t"])
    assert await store.held_jobs() == {"a": (ids[0], ids[1]), "b": (ids[2],)}
    store.job_completed(ids[2], "b", 2)
    await store.commit_point()
    assert await store.held_jobs() == {"a": (ids[0], ids[1])}


async def test_has_runnable_and_next_due_for_one_runner(store: Store) -> None:
    later = store.clock() + 3_600_000
    await store.add_jobs([new_job(needs=("gpu",)), new_job(needs=("gpu",), run_at_ms=later)])
    await store.register_runner(runner(store, "cpu"))
    await store.register_runner(runner(store, "g", "gpu"))
    now = store.clock()
    assert await store.has_runnable(["t"])
    assert not await store.has_runnable(["t"], runner_id="cpu")
    assert not await store.has_runnable(["t"], due_by_ms=now, runner_id="cpu")
    assert await store.has_runnable(["t"], due_by_ms=now, runner_id="g")
    assert await store.next_due_ms(["t"], runner_id="cpu") is None
    assert await store.next_due_ms(["t"], runner_id="g") == later
