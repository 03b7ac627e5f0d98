"""Server-Sent Events (issue 22): resumable from Last-Event-ID across a SIGKILLed and restarted server, with no
event lost or repeated; a final `shutdown` event on SIGTERM; `reset` for a stream too far behind; log streams."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobtui.client import Client, Submission
from jobtui.server.feed import EventFeed, Reset
from tests.conftest import spawn_runner, stop_runner
from tests.server.conftest import Server, free_port

Event = tuple[str | None, str, dict[str, object]]
"""(id, event name, data)."""


def sse(response: httpx.Response) -> Iterator[Event]:
    """Parse a text/event-stream (comments skipped)."""
    eid: str | None = None
    name = "message"
    data: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield eid, name, json.loads("\n".join(data))
            eid, name, data = None, "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "id":
                eid = value
            elif field == "event":
                name = value
            elif field == "data":
                data.append(value)


def _db_event_ids(db: str, upto: int) -> list[int]:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT event_id FROM job_events WHERE event_id <= ? ORDER BY event_id",
                                          (upto,))]
    finally:
        con.close()


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_events_resume_after_sigkill_without_loss_or_repeat(tmp_path: Path) -> None:
    """Kill the server (SIGKILL) mid-stream while a runner works, restart it, reconnect with Last-Event-ID:
    the ids received are exactly the database's events, in order, none twice; SIGTERM ends with `shutdown`."""
    db = str(tmp_path / "jobs.db")
    a = Server(db, free_port(), args=("--attach",)).start()
    admin = a.read_admin()
    runner = spawn_runner(db, "--concurrency", "4")
    received: list[int] = []
    completed: set[int] = set()
    try:
        with a.client(admin) as c:
            ids = [c.post("/jobs", json={"type": "demo", "params": {"delay": 0.4, "items": 3}}).json()["job_id"]
                   for _ in range(12)]
        headers = {"Authorization": f"Bearer {admin}"}
        try:
            with httpx.stream("GET", f"{a.base}/api/v1/events", params={"after_id": 0}, headers=headers,
                              timeout=30) as r:
                for eid, name, data in sse(r):
                    if name == "job":
                        received.append(int(eid or 0))
                        if data["to"] == "completed":
                            completed.add(int(data["job_id"]))  # type: ignore[call-overload]
                    if len(received) == 15:
                        a.stop(signal.SIGKILL)
        except httpx.HTTPError:
            pass  # the connection died with the server
        assert len(received) >= 15
        b = Server(db, a.port, args=("--attach",)).start()
        headers["Last-Event-ID"] = str(received[-1])
        with httpx.stream("GET", f"{b.base}/api/v1/events", headers=headers, timeout=60) as r:
            for eid, name, data in sse(r):
                if name == "job":
                    received.append(int(eid or 0))
                    if data["to"] == "completed":
                        completed.add(int(data["job_id"]))  # type: ignore[call-overload]
                    if completed >= set(ids):
                        code, _err = b.stop(signal.SIGTERM)
                elif name == "shutdown":
                    assert data["last_event_id"] == received[-1]
                    break
        assert b.proc is not None and b.proc.wait(30) == 0
    finally:
        stop_runner(runner)
        for s in (a, locals().get("b")):
            if isinstance(s, Server) and s.proc is not None and s.proc.poll() is None:
                s.stop(signal.SIGKILL)
    assert received == _db_event_ids(db, received[-1])
    assert len(received) == len(set(received)) and received == sorted(received)
    assert completed == set(ids)


async def test_a_stream_too_far_behind_gets_a_reset(client: Client) -> None:
    """The feed holds no unbounded backlog: a cursor more than max_behind events back is told to re-read."""
    await client.submit_many([Submission("demo", {})] * 12)
    feed = EventFeed(client, max_behind=5)
    await feed.start()
    try:
        try:
            await feed.after(0)
            raise AssertionError("no reset")
        except Reset as r:
            assert r.head == feed.head == 12
        assert [e.event_id for e in await feed.after(8)] == [9, 10, 11, 12]
        await client.prune_events(-10_000, keep=2)  # everything older than the newest 2 is gone
        try:
            await feed.after(8)
        except Reset:
            pass
        else:
            raise AssertionError("a pruned cursor must reset")
    finally:
        await feed.stop()


@pytest.mark.slow  # several seconds under load (pytest --durations)
def test_log_stream_follows_and_resumes(tmp_path: Path) -> None:
    """A job's log streams live with ids; a reconnect with Last-Event-ID gets only the rest; `end` when done."""
    s = Server(str(tmp_path / "jobs.db"), free_port()).start()
    admin = s.read_admin()
    try:
        with s.client(admin) as c:
            job_id = c.post("/jobs", json={"command": ["sh", "-c", "for i in 1 2 3 4 5 6; do echo line$i; done"],
                                           "cwd": str(tmp_path)}).json()["job_id"]
        headers = {"Authorization": f"Bearer {admin}"}
        url = f"{s.base}/api/v1/jobs/{job_id}/logs/stream"
        first: list[Event] = []
        with httpx.stream("GET", url, headers=headers, timeout=30) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for ev in sse(r):
                first.append(ev)
                if ev[1] == "end":
                    break
        lines = [e for e in first if e[1] == "log"]
        assert [str(e[2]["message"]) for e in lines if str(e[2]["message"]).startswith("line")] == [
            f"line{i}" for i in range(1, 7)]
        ids = [int(e[0] or 0) for e in lines]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        headers["Last-Event-ID"] = str(ids[2])
        with httpx.stream("GET", url, headers=headers, timeout=30) as r:
            rest = [int(e[0] or 0) for e in sse(r) if e[1] == "log"]
        assert rest == ids[3:]
    finally:
        code, err = s.stop()
    assert code == 0, err


async def test_one_read_is_encoded_once_and_fanned_out_to_every_live_stream(client: Client) -> None:
    """Issue 22, SSE at 1,000 subscribers (p99 9.2 s): each stream did its own work per batch. The feed now reads
    and encodes a batch once and queues the same bytes to every stream at the head; one behind catches up from
    the ring; a queue beyond its bound is dropped (the client reconnects with Last-Event-ID), never grown."""
    from jobtui.server import stream
    from jobtui.server.stream import Subscriber

    feed = EventFeed(client, poll_s=3600)
    await feed.start()
    try:
        live = [Subscriber(feed.head) for _ in range(50)]
        for sub in live:
            assert await feed.catch_up(sub) is False  # at the head: live
        await client.submit_many([Submission("demo", {})] * 3)
        assert await feed._read() is False
        chunks = [sub.take() for sub in live]
        assert all(c is chunks[0] for c in chunks), "encoded once, the same bytes for every stream"
        assert chunks[0].count(b"event: job\n") == 3 and all(s.cursor == feed.head == 3 for s in live)
        late = Subscriber(1)
        assert await feed.catch_up(late) is True
        assert late.take().count(b"event: job\n") == 2 and late.cursor == 3
        assert await feed.catch_up(late) is False
        big = Subscriber(3)
        big.push(b"x" * (stream.MAX_QUEUED_BYTES - 10), 3)
        big.push(b"y" * 20, 4)
        assert big.dropped and big.size == 0 and not big.chunks
    finally:
        await feed.stop()
