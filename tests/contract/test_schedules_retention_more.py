"""Contract: schedules, retention, processes, outbox delivery records and the runner's reads (every backend)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

import jobtui.store.schedules as schedules_mod
from jobtui.errors import InvalidTransitionError, UsageError
from jobtui.model import Action, JobStatus, ProcessRecord, RunnerInfo, Schedule
from jobtui.store import JobStore
from tests.contract.conftest import OpenStore, new_job
from tests.store_inspect import job_ids_older_than


def _schedule(name: str, now: int) -> Schedule:
    return Schedule(name, None, "UTC", 60_000, now, "t", {"k": 1}, {"priority": 2}, False, now, now, None, None)


async def test_a_schedule_fires_once_even_from_two_stores(open_store: OpenStore) -> None:
    """The occurrence's key refuses a second firing: two runners racing make one job."""
    a, b = await open_store(), await open_store()
    now = a.clock()
    s = _schedule("nightly", now)
    await a.add_schedule(s)
    assert [x.name for x in await b.due_schedules(now)] == ["nightly"]
    job = new_job(params={"k": 1}, priority=2)
    runs = await asyncio.gather(*(st.fire_schedule(s, occurrence_ms=now, missed=0, next_at_ms=now + 60_000, job=job,
                                                   error=None, runner_id=rid)
                                  for st, rid in ((a, "r1"), (b, "r2"))))
    fired = [r for r in runs if r is not None]
    assert len(fired) == 1 and fired[0].outcome == "fired" and fired[0].job_id is not None
    assert [j.job_id for j in await a.list_jobs()] == [fired[0].job_id]
    again = await a.get_schedule("nightly")
    assert again.next_at_ms == now + 60_000 and again.last_job_id == fired[0].job_id
    # The next occurrence skips while the previous job is active.
    skipped = await b.fire_schedule(again, occurrence_ms=now + 60_000, missed=2, next_at_ms=now + 120_000, job=job,
                                    error=None, runner_id="r2")
    assert skipped is not None and skipped.outcome == "skipped" and skipped.job_id is None
    assert [r.outcome for r in await a.schedule_runs("nightly")] == ["skipped", "fired"]
    await a.set_schedule_paused("nightly", True)
    assert await a.next_schedule_ms() is None
    await a.remove_schedule("nightly")
    assert await a.schedules() == []


async def test_retention_deletes_old_ended_jobs_in_chunks(store: JobStore) -> None:
    old, active, dep = await store.add_jobs([new_job(), new_job(), new_job()])
    await store.control(old, Action.CANCEL)
    await store.control(dep, Action.CANCEL)
    for i in range(7):
        store.item_finished(old, 0, f"k{i}", True, i, None, 1)
        store.log(old, "info", f"l{i}")
    await store.commit_point()
    cutoff = store.clock() + 1
    assert await store.old_job_ids(cutoff) == [old, dep]
    assert await store.purge_rows(old, cutoff, chunk=5) == 5
    assert await store.purge_rows(old, cutoff, chunk=5) == 5
    assert await store.purge_rows(old, cutoff, chunk=5) == 4
    assert await store.delete_old_jobs([old, active], cutoff) == [old]
    assert await store.job_ids() == {active, dep}
    assert await store.logs(old) == []
    size = await store.db_size()
    assert size.file_bytes > 0


async def test_processes_recorded_ended_and_held_status(store: JobStore) -> None:
    (jid,) = await store.add_jobs([new_job()])
    p = ProcessRecord(jid, 0, "main", 4242, 4242, 123456, "boot-1", "r1", ("sleep", "9"), "/tmp", store.clock())
    await store.process_started(p)
    await store.process_started(p)  # a repeat replaces it
    (got,) = await store.processes(jid, alive=True)
    assert (got.pid, got.argv, got.frozen) == (4242, ("sleep", "9"), False)
    store.process_frozen(jid, 0, "main", True)
    await store.commit_point()
    assert (await store.processes(jid))[0].frozen is True
    store.process_ended(jid, 0, "main", 3, keep=True)
    await store.commit_point()
    assert await store.processes(jid, alive=True) == []
    assert (await store.processes(jid, 0))[0].exit_code == 3
    await store.forget_processes(jid, [got])
    assert await store.held_status([jid, 999]) == {jid: (JobStatus.QUEUED, None)}


async def test_forgetting_a_process_leaves_a_newer_one_of_its_slot_alive(store: JobStore) -> None:
    """A recovering runner forgets the rows it ended, not the row a new attempt wrote meanwhile for the same slot:
    that one must stay alive, or a second crash would leave its process unrecorded."""
    (jid,) = await store.add_jobs([new_job()])
    old = ProcessRecord(jid, 0, "", 4242, 4242, 1, "boot-1", "dead", ("sh",), None, store.clock(), token="t-old")
    await store.process_started(old)
    (seen,) = await store.processes(jid, alive=True)
    new = replace(old, pid=4343, pgid=4343, runner_id="r2", token="t-new")
    await store.process_started(new)  # the next attempt, started while the old group was being ended
    await store.forget_processes(jid, [seen])
    (alive,) = await store.processes(jid, alive=True)
    assert (alive.pid, alive.token) == (4343, "t-new")
    await store.forget_processes(jid, [alive])
    assert await store.processes(jid, alive=True) == []


async def test_outbox_delivery_records(store: JobStore) -> None:
    (jid,) = await store.add_jobs([new_job(notify=(("url", "http://127.0.0.1:9/hook"),))])
    await store.control(jid, Action.CANCEL)
    (n,) = await store.claim_notifications("r1", 10, 60_000)
    await store.notification_failed(n.notification_id, "r1", 1, "refused", store.clock() - 1)
    (again,) = await store.claim_notifications("r1", 10, 60_000)
    assert again.attempts == 1 and again.last_error == "refused"
    await store.notification_failed(again.notification_id, "r1", 1, "refused again", None)
    (gave_up,) = await store.notifications(jid)
    assert gave_up.state == "failed" and gave_up.attempts == 2
    assert await store.next_notification_ms() is None


async def test_runner_reads_due_times_stage_filter_and_stats(store: JobStore) -> None:
    now = store.clock()
    later = now + 3_600_000
    a, b, c = await store.add_jobs([new_job(), new_job(run_at_ms=later), new_job(type="other")])
    assert await store.has_runnable(["t"]) and await store.has_runnable(["t"], due_by_ms=now)
    assert await store.next_due_ms(["t"]) == later
    await store.register_runner(RunnerInfo("r1", 1, "h", now, now, 2, 60_000))
    (claimed,) = await store.claim("r1", 5, ["t"])
    assert claimed.job.job_id == a
    store.stage_started(a, 1, 1, 1)
    await store.commit_point()
    assert [j.job_id for j in await store.list_jobs(stage="b")] == [a]
    assert [j.job_id for j in await store.list_jobs(types=["other"], statuses=["queued"])] == [c]
    assert await store.owned_requests("r1", expected=1) is None
    await store.control(a, Action.PAUSE)
    assert await store.owned_requests("r1", expected=1) == {a: JobStatus.PAUSING}
    assert await store.item_keys(a, 0) == (set(), set())
    st = await store.stats()
    assert st.by_status == {"pausing": 1, "queued": 2} and [r.runner_id for r in st.runners] == ["r1"]
    assert await store.waiting_on([a, b]) == {}
    assert await job_ids_older_than(store, store.clock() + 1, ["queued"]) == [b, c]
    assert await store.integrity_check() == "ok"


async def _completed_with_items(store: JobStore, items: int) -> int:
    """Return a two-stage job, completed, whose first stage recorded `items` results."""
    (jid,) = await store.add_jobs([new_job()])
    await store.claim("r1", 1, ["t"])
    for i in range(items):
        store.item_finished(jid, 0, f"k{i}", True, i, None, 1)
    store.job_completed(jid, "r1", 2)
    await store.commit_point()
    return jid


async def test_a_job_retention_has_begun_to_delete_cannot_be_rewound(open_store: OpenStore) -> None:
    """Issue 14 item 8: a rewind between two purge chunks kept a job with part of its results, and it completed."""
    s, other = await open_store(), await open_store()
    jid = await _completed_with_items(s, 20)
    cutoff = s.clock() + 1
    assert await s.purge_rows(jid, cutoff, chunk=5) == 5  # retention has begun: 5 of 20 results gone
    for action, kw in ((Action.REWIND, {"to_stage": 1}), (Action.RETRY, {})):
        with pytest.raises(InvalidTransitionError, match="being deleted"):
            await other.control(jid, action, **kw)
    assert (await other.get_job(jid)).status is JobStatus.COMPLETED
    with pytest.raises(UsageError, match="being deleted"):  # nothing new may wait on it either
        await other.add_jobs([new_job(after=(jid,))])
    # The purge goes on to the end, even for a runner whose --keep would not call the job old.
    assert await other.old_job_ids(cutoff - 3_600_000) == [jid]
    while await other.purge_rows(jid, cutoff - 3_600_000) > 0:
        pass
    assert await other.delete_old_jobs([jid], cutoff - 3_600_000) == [jid]
    assert await s.job_ids() == set()


async def test_a_rewind_before_the_purge_keeps_every_result(store: JobStore) -> None:
    jid = await _completed_with_items(store, 6)
    cutoff = store.clock() + 1
    await store.control(jid, Action.REWIND, to_stage=1)
    assert await store.purge_rows(jid, cutoff, chunk=5) == 0
    assert await store.old_job_ids(cutoff) == []
    assert len(await store.item_keys(jid, 0)) == 2 and len((await store.item_keys(jid, 0))[0]) == 6


async def test_a_schedules_history_stays_bounded(store: JobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14 item 14: schedule_runs grew by a row per occurrence forever (86,400 a day at --every 1s)."""
    monkeypatch.setattr(schedules_mod, "KEEP_RUNS", 10, raising=False)
    now = store.clock()
    s = _schedule("often", now)
    await store.add_schedule(s)
    for i in range(25):
        s = await store.get_schedule("often")
        run = await store.fire_schedule(s, occurrence_ms=now + i * 60_000, missed=0, next_at_ms=now + (i + 1) * 60_000,
                                        job=None, error=None, runner_id="r1")
        assert run is not None
    runs = await store.schedule_runs("often", limit=1000)
    assert [r.occurrence_ms for r in runs] == [now + i * 60_000 for i in range(24, 14, -1)]
    # A stale firing of an occurrence whose row was pruned is still refused (next_at_ms moved on).
    assert await store.fire_schedule(_schedule("often", now), occurrence_ms=now, missed=0, next_at_ms=now + 60_000,
                                     job=None, error=None, runner_id="r2") is None
