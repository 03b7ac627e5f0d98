"""Contract: dependencies (blocked jobs) and the notification outbox (every backend must pass)."""

from __future__ import annotations

import os

import pytest

from jobtui.errors import InvalidTransitionError, UsageError
from jobtui.model import Action, JobStatus, NotifyEvent, RunnerInfo
from jobtui.store import JobStore
from tests.contract.conftest import OpenStore, new_job
from tests.store_inspect import blocked_dependents, dependencies, notify_targets


async def test_blocked_until_every_dependency_completed(open_store: OpenStore) -> None:
    s, other = await open_store(), await open_store()
    a, b = await s.add_jobs([new_job(), new_job()])
    (c,) = await s.add_jobs([new_job(after=(a, b))])
    assert (await s.get_job(c)).status is JobStatus.BLOCKED
    assert {r.job_id for r in (await s.waiting_on([c]))[c]} == {a, b}
    got = [x.job.job_id for x in await s.claim("r1", 10, ["t"])]
    assert sorted(got) == [a, b], "a blocked job is never claimed"
    s.job_completed(a, "r1", 2)
    await s.commit_point()
    assert (await other.get_job(c)).status is JobStatus.BLOCKED
    s.job_completed(b, "r1", 2)
    await s.commit_point()
    assert (await other.get_job(c)).status is JobStatus.QUEUED, "released in the commit of the last dependency"
    assert [x.job.job_id for x in await other.claim("r2", 10, ["t"])] == [c]
    on, by = await dependencies(s, c)
    assert {r.job_id for r in on} == {a, b} and by == ()


async def test_cycles_unknown_and_delete_refused(store: JobStore) -> None:
    (a,) = await store.add_jobs([new_job()])
    (b,) = await store.add_jobs([new_job(after=(a,))])
    with pytest.raises(UsageError, match="cycle"):
        await store.add_dependencies(a, [b])
    with pytest.raises(UsageError):
        await store.add_dependencies(b, [9999])
    with pytest.raises(UsageError):
        await store.add_dependencies(a, [a])
    assert (await store.get_job(a)).status is JobStatus.QUEUED
    await store.control(a, Action.CANCEL)
    with pytest.raises(InvalidTransitionError):
        await store.control(a, Action.DELETE)
    assert await blocked_dependents(store, a) == [b]
    (c,) = await store.add_jobs([new_job()])
    assert await store.add_dependencies(c, [a]) is JobStatus.BLOCKED


async def test_release_ready_sweeps(store: JobStore) -> None:
    (a,) = await store.add_jobs([new_job()])
    (b,) = await store.add_jobs([new_job(after=(a,))])
    assert await store.release_ready() == []
    await store.claim("r1", 1, ["t"])
    store.job_completed(a, "r1", 2)
    await store.commit_point()
    assert (await store.get_job(b)).status is JobStatus.QUEUED
    assert await store.release_ready() == []


async def test_outbox_event_with_the_end_then_claimed_once(open_store: OpenStore) -> None:
    s, other = await open_store(), await open_store()
    (jid,) = await s.add_jobs([new_job(notify=(("url", "http://127.0.0.1:9/hook"),))])
    assert await notify_targets(s, jid) == (("url", "http://127.0.0.1:9/hook"),)
    await s.claim("r1", 1, ["t"])
    s.notify_event(jid, NotifyEvent.COMPLETED)  # before the end applies: writes nothing
    await s.commit_point()
    assert await s.notifications(jid) == ()
    s.job_completed(jid, "r1", 2)
    s.notify_event(jid, NotifyEvent.COMPLETED)
    s.notify_event(jid, NotifyEvent.COMPLETED)  # a repeat is a no-op
    await s.commit_point()
    (n,) = await s.notifications(jid)
    assert (n.event, n.kind, n.state, n.attempts) == ("completed", "url", "pending", 0)
    assert await s.next_notification_ms() is not None
    for rid in ("d1", "d2"):  # a claim held by a runner that is gone is free again: these two are live
        await s.register_runner(RunnerInfo(rid, os.getpid(), "host", s.clock(), s.clock(), 1, 60_000))
    first = await s.claim_notifications("d1", 5, 60_000)
    again = await other.claim_notifications("d2", 5, 60_000)
    assert [x.notification_id for x in first] == [n.notification_id] and again == []
    await s.notification_failed(n.notification_id, "d1", 2, "refused", s.clock() - 1)
    (retry,) = await other.claim_notifications("d2", 5, 60_000)
    await other.notification_sent(retry.notification_id, "d2", 1)
    (done,) = await s.notifications(jid)
    assert (done.state, done.attempts, done.last_error) == ("sent", 3, None)
    assert await s.next_notification_ms() is None


async def test_outbox_defaults_for_jobs_without_targets(store: JobStore) -> None:
    store.notify_defaults = (("cmd", "echo done"),)
    (jid,) = await store.add_jobs([new_job()])
    await store.claim("r1", 1, ["t"])
    store.job_failed(jid, "r1", "a", "boom", retry_at_ms=None)
    store.notify_event(jid, NotifyEvent.FAILED)
    await store.commit_point()
    (n,) = await store.notifications(jid)
    assert (n.event, n.kind, n.target) == ("failed", "cmd", "echo done")
    await store.notification_failed(n.notification_id, "r1", 1, "gave up", None)
    assert (await store.notifications(jid))[0].state == "failed"
    assert await store.claim_notifications("r1", 5, 60_000) == []


async def test_a_deferred_delivery_is_handed_back_untried_and_due_later(store: JobStore) -> None:
    """Issue 14 item 2: a delivery whose host is busy goes back to the outbox, no attempt counted."""
    (jid,) = await store.add_jobs([new_job(notify=(("url", "http://127.0.0.1:9/hook"),))])
    await store.claim("r1", 1, ["t"])
    store.job_completed(jid, "r1", 2)
    store.notify_event(jid, NotifyEvent.COMPLETED)
    await store.commit_point()
    await store.register_runner(RunnerInfo("d1", os.getpid(), "host", store.clock(), store.clock(), 1, 60_000))
    (n,) = await store.claim_notifications("d1", 5, 60_000, ("url",))
    later = store.clock() + 60_000
    await store.defer_notifications([n.notification_id], "d2", later)  # not d2's claim: nothing changes
    assert await store.claim_notifications("d1", 5, 60_000) == []
    await store.defer_notifications([n.notification_id], "d1", later)
    assert await store.claim_notifications("d1", 5, 60_000) == [], "not due before next_at"
    (back,) = await store.notifications(jid)
    assert (back.state, back.attempts, back.last_error, back.next_at_ms) == ("pending", 0, None, later)


async def test_pausing_a_blocked_job_keeps_its_dependency_from_being_deleted(store: JobStore) -> None:
    """Issue 14 item 14: the guard looked at blocked dependents only; a paused one lost its dependency."""
    (a,) = await store.add_jobs([new_job()])
    (b,) = await store.add_jobs([new_job(after=(a,))])
    await store.control(a, Action.CANCEL)
    with pytest.raises(InvalidTransitionError, match=f"#{b}"):
        await store.control(a, Action.DELETE)
    await store.control(b, Action.PAUSE)
    assert (await store.get_job(b)).status is JobStatus.PAUSED
    with pytest.raises(InvalidTransitionError, match=f"#{b}"):
        await store.control(a, Action.DELETE)
    await store.control(b, Action.RESUME)
    assert (await store.get_job(b)).status is JobStatus.BLOCKED, "still waits on its dependency"
    await store.control(b, Action.CANCEL)
    await store.control(a, Action.DELETE)  # nothing that has not ended waits on it now
    assert await store.job_ids() == {b}


async def test_a_completed_dependency_may_be_deleted_while_its_dependent_runs(store: JobStore) -> None:
    (a,) = await store.add_jobs([new_job()])
    (b,) = await store.add_jobs([new_job(after=(a,))])
    await store.claim("r1", 1, ["t"])
    store.job_completed(a, "r1", 2)
    await store.commit_point()
    assert (await store.get_job(b)).status is JobStatus.QUEUED
    await store.control(a, Action.DELETE)
    assert await store.job_ids() == {b}
