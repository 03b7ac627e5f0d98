"""Contract: notifications are events of the job event log (issue 22 remainder item 2, schema migration 22), so
`/events` streams them and one Last-Event-ID cursor resumes jobs' and notifications' events alike."""

from __future__ import annotations

import os

from jobtui.apimodel import EventKind
from jobtui.model import NotifyEvent, RunnerInfo
from jobtui.store import JobStore
from tests.contract.conftest import new_job


async def test_a_notification_queued_then_sent_is_two_events_after_the_jobs_end(store: JobStore) -> None:
    (jid,) = await store.add_jobs([new_job(notify=(("url", "http://127.0.0.1:9/hook"),))])
    await store.claim("r1", 1, ["t"])
    store.job_completed(jid, "r1", 2)
    store.notify_event(jid, NotifyEvent.COMPLETED)
    await store.commit_point()
    (n,) = await store.notifications(jid)
    await store.register_runner(RunnerInfo("d1", os.getpid(), "host", store.clock(), store.clock(), 1, 60_000))
    await store.claim_notifications("d1", 5, 60_000)
    await store.notification_failed(n.notification_id, "d1", 1, "refused", store.clock() - 1)  # still pending
    await store.claim_notifications("d1", 5, 60_000)
    await store.notification_sent(n.notification_id, "d1", 1)
    events = await store.job_events()
    assert [e.event_id for e in events] == sorted(e.event_id for e in events)
    assert [(e.kind, e.to_status) for e in events][-3:] == [
        ("transition", "completed"), ("notification", "pending"), ("notification", "sent")]
    pending, sent = events[-2:]
    assert (pending.job_id, pending.from_status, pending.ref_id) == (jid, "completed", n.notification_id)
    assert sent.to_dict()["notification"] == {"notification_id": n.notification_id, "event": "completed",
                                              "state": "sent"}
    assert sent.to_dict()["kind"] == EventKind.NOTIFICATION and "to" not in sent.to_dict()


async def test_a_notification_given_up_is_an_event(store: JobStore) -> None:
    store.notify_defaults = (("cmd", "echo done"),)
    (jid,) = await store.add_jobs([new_job()])
    await store.claim("r1", 1, ["t"])
    store.job_failed(jid, "r1", "a", "boom", retry_at_ms=None)
    store.notify_event(jid, NotifyEvent.FAILED)
    await store.commit_point()
    (n,) = await store.notifications(jid)
    await store.notification_failed(n.notification_id, "r1", 1, "gave up", None)
    last = (await store.job_events())[-1]
    assert (last.kind, last.from_status, last.to_status, last.ref_id) == ("notification", "failed", "failed",
                                                                          n.notification_id)
