"""Notification events in `/events` (issue 22 remainder item 2): a job's notification queued with its end and
then sent is streamed as `notification` events, numbered with the job events (one Last-Event-ID cursor)."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import Server
from tests.server.test_sse import Event, sse


@pytest.mark.slow  # a real server and runner; a notification command run by the runner
def test_a_jobs_notification_is_streamed_queued_then_sent(server: Server) -> None:
    with server.client(server.admin) as c:
        r = c.post("/jobs", json={"type": "demo", "params": {"delay": 0, "items": 1},
                                  "notify": [{"kind": "cmd", "target": "true"}]})
        assert r.status_code == 201, r.text
        job_id = r.json()["job_id"]
        got: list[Event] = []
        with httpx.stream("GET", f"{server.base}/api/v1/events", params={"after_id": 0}, timeout=30,
                          headers={"Authorization": f"Bearer {server.admin}"}) as stream:
            for event in sse(stream):
                got.append(event)
                _, name, data = event
                if name == "notification" and data["job_id"] == job_id and data["notification"]["state"] == "sent":
                    break
    mine = [(name, data) for _, name, data in got if data.get("job_id") == job_id]
    assert [d.get("to") for n, d in mine if n == "job"][-1] == "completed"
    notes = [(d["notification"]["event"], d["notification"]["state"]) for n, d in mine if n == "notification"]
    assert notes == [("completed", "pending"), ("completed", "sent")]
    names = [n for n, _ in mine]
    assert names.index("notification") > max(i for i, n in enumerate(names) if n == "job")
    ids = [int(i) for i, _, _ in got if i is not None]
    assert ids == sorted(set(ids)), "one cursor, each event once, in order"
    note = next(d for n, d in mine if n == "notification")
    assert note["job"]["job_id"] == job_id and note["kind"] == "notification"
