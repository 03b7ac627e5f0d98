"""Contract: group commit and its ordering, control requests, items, logs, exports (every backend must pass)."""

from __future__ import annotations

import asyncio

import pytest

from jobtui.errors import InvalidTransitionError, JobNotFoundError, UsageError
from jobtui.model import ACTION_FROM, Action, ItemStatus, JobStatus, StageStatus
from jobtui.store import JobStore
from tests.contract.conftest import OpenStore, new_job
from tests.store_inspect import job_ids_older_than


async def claimed(store: JobStore, n: int = 1, **kw: object) -> list[int]:
    ids = await store.add_jobs([new_job(**kw) for _ in range(n)])  # type: ignore[arg-type]
    assert len(await store.claim("r1", n, ["t"])) == n
    return ids


# ------------------------------------------------------------------------------------ group commit
async def test_queued_writes_are_invisible_until_committed(open_store: OpenStore) -> None:
    w, r = await open_store(), await open_store()
    (jid,) = await claimed(w)
    w.stage_started(jid, 0, 1, 3)
    w.item_finished(jid, 0, "k1", True, {"v": 1}, None, 1)
    assert w.pending >= 2
    await w.commit_point()
    assert w.pending == 0
    assert await r.item_results(jid, 0) == {"k1": {"v": 1}}
    st = (await r.get_detail(jid)).stages[0]
    assert st.status is StageStatus.RUNNING and st.attempts == 1 and st.max_attempts == 3


async def test_one_group_commit_applies_in_rank_order(open_store: OpenStore) -> None:
    """Writes queued together land as if in the order the engine means them, whatever the queue order:
    a job's end comes after its stage end, item results and progress (the end clears the message)."""
    w, r = await open_store(), await open_store()
    (jid,) = await claimed(w)
    # Queued deliberately out of order: the end first.
    w.job_completed(jid, "r1", 2)
    w.progress(jid, 1, 1, "working", 2, 0, 0)
    w.stage_finished(jid, 1, "out-b")
    w.stage_counters(jid, 1, 2, 2, 0)
    w.item_finished(jid, 1, "x", True, 1, None, 1)
    w.item_finished(jid, 1, "y", True, 2, None, 1)
    w.stage_started(jid, 1, 1, 1)
    w.stage_finished(jid, 0, "out-a")
    await w.commit_point()
    job = await r.get_job(jid)
    assert job.status is JobStatus.COMPLETED and job.lease_owner is None
    assert job.progress_message is None, "the end's clean-up wins over progress"
    assert job.current_step_index == 2
    stages = (await r.get_detail(jid)).stages
    assert [s.status for s in stages] == [StageStatus.COMPLETED, StageStatus.COMPLETED]
    assert stages[1].items_done == 2 and stages[1].items_total == 2
    assert await r.item_results(jid, 1) == {"x": 1, "y": 2}


async def test_keyed_writes_last_value_wins(store: JobStore) -> None:
    (jid,) = await claimed(store)
    for i in range(50):
        store.progress(jid, i, 50, f"step {i}", i, 0, 0)
        store.stage_counters(jid, 0, 50, i, 0)
    assert store.pending <= 4
    await store.commit_point()
    job = await store.get_job(jid)
    assert (job.progress_done, job.progress_message, job.items_done) == (49, "step 49", 49)
    assert (await store.get_detail(jid)).stages[0].items_done == 49


async def test_many_jobs_share_commits(store: JobStore) -> None:
    ids = await claimed(store, 20)
    before = store.commits

    async def job(jid: int) -> None:
        for k in range(5):
            store.item_finished(jid, 0, f"k{k}", True, k, None, 1)
            await store.commit_point()

    await asyncio.gather(*(job(j) for j in ids))
    assert store.commits - before < 100, "concurrent checkpoints were grouped"
    for j in ids:
        assert await store.item_results(j, 0) == {f"k{k}": k for k in range(5)}


async def test_stage_state_and_files_and_attempts(store: JobStore) -> None:
    (jid,) = await claimed(store)
    store.stage_state(jid, 0, {"cursor": 3})
    store.file_tracked(jid, 0, "out.bin", 10, "ab" * 32)
    store.file_tracked(jid, 0, "out.bin", 12, "cd" * 32)
    store.attempt_failed(jid, 0, 1, "timeout", True)
    store.stage_stopped(jid, 0, StageStatus.RETRYING, "timeout", store.clock() + 1000)
    await store.commit_point()
    detail = await store.get_detail(jid)
    assert [(f.path, f.size, f.sha256) for f in detail.files] == [("out.bin", 12, "cd" * 32)]
    assert detail.stages[0].status is StageStatus.RETRYING and detail.stages[0].error == "timeout"
    assert [(x.stage_index, x.attempt, x.error, x.transient) for x in await store.attempt_errors(jid)] == [(0, 1, "timeout", True)]
    claimed_again = await store.claim("r2", 1, ["t"])
    assert claimed_again == []  # still running under r1


# ------------------------------------------------------------------------------------------ control
async def test_control_moves_and_audit(store: JobStore) -> None:
    q, r = await store.add_jobs([new_job(), new_job()])
    await store.claim("r1", 1, ["t"])  # takes q
    res = await store.control(q, Action.PAUSE, source="test")
    assert (res.before, res.after) == (JobStatus.RUNNING, JobStatus.PAUSING)
    res = await store.control(r, Action.PAUSE)
    assert res.after is JobStatus.PAUSED
    assert (await store.get_job(r)).pause_reason == "paused by request"
    res = await store.control(r, Action.RESUME)
    assert res.after is JobStatus.QUEUED and (await store.get_job(r)).resume_count == 1
    res = await store.control(r, Action.CANCEL)
    assert res.after is JobStatus.CANCELLED
    with pytest.raises(InvalidTransitionError):
        await store.control(r, Action.PAUSE)
    trail = [(r.action, r.from_status, r.to_status, r.source) for r in await store.requests(q)]
    assert trail == [("submit", "", "queued", "cli"), ("pause", "running", "pausing", "test")]


async def test_rewind_and_retry_reset_stages(store: JobStore) -> None:
    (jid,) = await claimed(store)
    store.item_finished(jid, 0, "a", True, 1, None, 1)
    store.item_finished(jid, 0, "b", False, None, "bad", 2)
    store.stage_counters(jid, 0, 2, 1, 1)
    store.progress(jid, 1, 2, None, 1, 1, 1)
    store.stage_finished(jid, 0, "x")
    store.stage_finished(jid, 1, "y")
    store.job_completed(jid, "r1", 2)
    await store.commit_point()
    res = await store.control(jid, Action.RETRY)
    assert res.after is JobStatus.QUEUED
    assert await store.item_keys(jid, 0) == ({"a"}, set()), "retry keeps done items, drops failed ones"
    assert [s.status for s in (await store.get_detail(jid)).stages] == [StageStatus.PENDING] * 2
    with pytest.raises(UsageError):
        await store.control(jid, Action.REWIND, to_stage=9)
    res = await store.control(jid, Action.CANCEL)
    res = await store.control(jid, Action.REWIND, to_stage=0)
    assert res.after is JobStatus.QUEUED
    assert await store.item_keys(jid, 0) == (set(), set())


async def test_delete_removes_everything(store: JobStore) -> None:
    (jid,) = await claimed(store)
    assert JobStatus.RUNNING not in ACTION_FROM[Action.DELETE]
    with pytest.raises(InvalidTransitionError):
        await store.control(jid, Action.DELETE)
    store.log(jid, "info", "kept until deleted")
    store.job_cancelled(jid, "r1")
    await store.commit_point()
    res = await store.control(jid, Action.DELETE)
    assert res.after is None
    with pytest.raises(JobNotFoundError):
        await store.get_job(jid)
    assert await store.job_ids() == set()
    assert await store.logs(jid) == []


# ---------------------------------------------------------------------------------- items and logs
async def test_items_upsert_and_export_order(store: JobStore) -> None:
    (jid,) = await claimed(store)
    store.item_finished(jid, 0, "k2", False, None, "nope", 1)
    await store.commit_point()
    store.item_finished(jid, 0, "k2", True, {"ok": True}, None, 2)
    for k in ("k3", "k1"):
        store.item_finished(jid, 1, k, True, [k], None, 1)
    store.item_finished(jid, 0, "k0", True, "é ✓ \u0000-free", None, 1)
    await store.commit_point()
    done, failed = await store.item_keys(jid, 0)
    assert done == {"k0", "k2"} and failed == set()
    recs = [r async for r in store.items(jid, chunk=2)]
    assert [(r.stage_index, r.stage, r.key) for r in recs] == [(0, "a", "k0"), (0, "a", "k2"), (1, "b", "k1"), (1, "b", "k3")]
    k2 = recs[1]
    assert k2.status is ItemStatus.DONE and k2.result == {"ok": True} and k2.attempts == 3
    assert recs[0].result == "é ✓ \u0000-free"


async def test_logs_order_tail_trim(store: JobStore) -> None:
    (jid,) = await claimed(store)
    for i in range(10):
        store.log(jid, "info", f"line {i}")
    await store.commit_point()
    lines = await store.logs(jid)
    assert [line.message for line in lines] == [f"line {i}" for i in range(10)]
    assert [line.message for line in await store.logs(jid, tail=True, limit=3)] == ["line 7", "line 8", "line 9"]
    after = await store.logs(jid, after_id=lines[4].log_id)
    assert [line.message for line in after] == [f"line {i}" for i in range(5, 10)]
    store.trim_logs(jid, 4)
    await store.commit_point()
    assert [line.message for line in await store.logs(jid)] == [f"line {i}" for i in range(6, 10)]


async def test_reads_filter_and_page(store: JobStore) -> None:
    ids = await store.add_jobs([new_job(type="t" if i % 2 else "u") for i in range(25)])
    await store.control(ids[0], Action.CANCEL)
    assert [j.job_id for j in await store.list_jobs(types=["u"])] == ids[0::2]
    assert [j.job_id for j in await store.list_jobs(statuses=["cancelled"])] == [ids[0]]
    assert [j.job_id for j in await store.list_jobs(newest_first=True, limit=3)] == ids[::-1][:3]
    assert [j.job_id async for j in store.iter_jobs(page=4)] == ids
    assert [j.job_id async for j in store.iter_jobs(newest=5, page=2)] == ids[-5:]
    assert [j.job_id async for j in store.iter_jobs(types=["t"], newest=3)] == ids[1::2][-3:]
    stats = await store.stats()
    assert stats.by_status == {"queued": 24, "cancelled": 1} and stats.by_type == {"t": 12, "u": 13}
    assert await job_ids_older_than(store, store.clock() + 10_000, ["cancelled"]) == [ids[0]]


# ---------------------------------------------------------------------------------------- bad input
async def test_unique_key_refused_and_nothing_stored(store: JobStore) -> None:
    (jid,) = await store.add_jobs([new_job(unique_key="only")])
    with pytest.raises(UsageError, match="only"):
        await store.add_jobs([new_job(), new_job(unique_key="only")])
    with pytest.raises(UsageError):
        await store.add_jobs([new_job(unique_key="x"), new_job(unique_key="x")])
    assert await store.job_ids() == {jid}
    await store.control(jid, Action.CANCEL)
    (again,) = await store.add_jobs([new_job(unique_key="only")])
    assert again > jid


async def test_unknown_ids(store: JobStore) -> None:
    with pytest.raises(JobNotFoundError):
        await store.get_job(424242)
    with pytest.raises(JobNotFoundError):
        await store.control(424242, Action.PAUSE)
    with pytest.raises(UsageError):
        await store.add_jobs([new_job(after=(777,))])
    assert await store.job_ids() == set()


async def test_ids_never_reused(store: JobStore) -> None:
    a, b = await store.add_jobs([new_job(), new_job()])
    await store.control(b, Action.CANCEL)
    await store.control(b, Action.DELETE)
    (c,) = await store.add_jobs([new_job()])
    assert c > b > a


async def test_ids_signature_changes_on_delete(store: JobStore) -> None:
    """The TUI notices a deletion by another process from this one cheap read (issue 8)."""
    assert await store.job_ids_signature() == (0, 0, 0)
    a, b, c = await store.add_jobs([new_job(), new_job(), new_job()])
    assert await store.job_ids_signature() == (3, c, a + b + c)
    await store.control(b, Action.CANCEL)
    assert await store.job_ids_signature() == (3, c, a + b + c), "a change of status is not a deletion"
    await store.control(b, Action.DELETE)
    assert await store.job_ids_signature() == (2, c, a + c)
