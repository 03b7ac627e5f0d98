"""The event feed of one server process: job events read from the database by one task, for every stream.

The database is the truth: `job_events` is numbered in commit order (schema migration 12), and a stream's
cursor is the last event id it sent, so a stream resumes on any server from `Last-Event-ID`. This process
only keeps the newest events (a bounded ring, each already encoded) so that a thousand streams do not each
query the database; a stream behind the ring reads from the database, and one too far behind (or behind
what was pruned) gets a `reset` event: re-read the list, then continue from now.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import logging
from collections import deque
from dataclasses import dataclass

from ..apimodel import EVENTS_KEEP, EventKind, JobEvent
from ..client import Client
from ..errors import JobtuiError
from ..model import ACTIVE, Job
from .stream import Subscriber, frame

log = logging.getLogger("jobtui.server.feed")

PAGE = 500
"""Events read (and sent) at a time."""
PROGRESS_EVERY_S = 1.0
"""Progress snapshots of running jobs are sent at most this often (throttled)."""
PRUNE_EVERY_S = 600.0


@dataclass(frozen=True, slots=True)
class Encoded:
    """An event ready to send: its id and its SSE frame (`id`, `event: job`, `data`: the event with the job as it
    was when the feed read the event), encoded once for every stream."""

    event_id: int
    frame: bytes


class Reset(Exception):
    """The stream is too far behind (or behind what was pruned): it must re-read, then continue from `head`."""

    def __init__(self, head: int) -> None:
        super().__init__(head)
        self.head = head


SUMMARY = ("job_id", "type", "status", "current_step", "progress_percentage", "progress_message", "pause_reason",
           "error_message", "can_resume", "updated_at")
"""The job fields an event carries (what a list row shows; GET /jobs/{id} has the rest)."""


def summary(job: Job) -> dict[str, object]:
    """Return the fields of a job an event carries, redacted."""
    full = job.to_dict()
    return {k: full[k] for k in SUMMARY}


def encode(event: JobEvent, job: Job | None) -> Encoded:
    """Return an event with its job's summary (redacted), as a stream sends it."""
    data = event.to_dict()
    data["job"] = None if job is None else summary(job)
    text = json.dumps(data, separators=(",", ":"))
    name = "notification" if event.kind == EventKind.NOTIFICATION else "job"
    return Encoded(event.event_id, f"id: {event.event_id}\nevent: {name}\ndata: {text}\n\n".encode())


class EventFeed:
    """New job events for every stream of this process, read once from the database."""

    def __init__(self, client: Client, *, poll_s: float = 0.1, ring_size: int = 20_000, max_behind: int = 10_000,
                 keep_s: float = 7 * 86_400.0) -> None:
        self.client = client
        self.poll_s = poll_s
        self.max_behind = max_behind
        self.keep_s = keep_s
        self.closing = asyncio.Event()
        """Set when the server stops: every stream sends a last event and ends."""
        self._ring: deque[Encoded] = deque(maxlen=ring_size)
        self._ids: deque[int] = deque(maxlen=ring_size)
        self._from = 0
        """Every event after this id up to `head` is in the ring."""
        self.head = 0
        """The newest event id read."""
        self._changed = asyncio.Event()
        self.progress: tuple[int, bytes] = (0, b"")
        """(version, the `progress` SSE frame of the running jobs that changed) refreshed every PROGRESS_EVERY_S."""
        self._progress_ms = 0
        self._task: asyncio.Task[None] | None = None
        self._reading = asyncio.Lock()
        """One read at a time: two reads from one head would queue the same events to a stream twice."""
        self._live: set[Subscriber] = set()
        """Streams at the head: each read's new frames are appended to their queues (server/stream.py)."""

    async def start(self) -> None:
        """Start reading from the newest event on."""
        self.head = self._from = (await self.client.event_bounds())[1]
        self._progress_ms = self.client.now_ms()
        self._task = asyncio.create_task(self._run(), name="jobtui-event-feed")

    async def stop(self) -> None:
        """Tell every stream to end, and stop reading."""
        self.closing.set()
        self._changed.set()
        self._wake_all()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_progress = next_prune = loop.time()
        while not self.closing.is_set():
            full = False
            try:
                full = await self._read()
                if loop.time() >= next_progress:
                    next_progress = loop.time() + PROGRESS_EVERY_S
                    await self._read_progress()
                if loop.time() >= next_prune:
                    next_prune = loop.time() + PRUNE_EVERY_S
                    await self.client.prune_events(int(self.keep_s * 1000), keep=EVENTS_KEEP)
            except JobtuiError as e:
                log.warning("event feed: %s (trying again)", e)
            if not full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), self.poll_s)
        self._wake_all()  # closing: each live stream sends its `shutdown` event

    def _wake_all(self) -> None:
        for sub in self._live:
            sub.wake.set()

    async def _read(self) -> bool:
        async with self._reading:
            return await self._read_next()

    async def _read_next(self) -> bool:
        events = await self.client.job_events(after_id=self.head, limit=PAGE)
        if not events:
            return False
        jobs = await self.client.jobs_by_ids(e.job_id for e in events)
        frames = []
        for e in events:
            if len(self._ring) == self._ring.maxlen:
                self._from = self._ids[0]
            enc = encode(e, jobs.get(e.job_id))
            self._ring.append(enc)
            self._ids.append(e.event_id)
            frames.append(enc.frame)
        before, self.head = self.head, events[-1].event_id
        self._fan_out(b"".join(frames), before)
        self._changed.set()
        self._changed = asyncio.Event()
        return len(events) == PAGE

    async def _read_progress(self) -> None:
        changed = await self.client.list_jobs(updated_after_ms=self._progress_ms, statuses=[s.value for s in ACTIVE])
        if not changed:
            return
        self._progress_ms = max(j.updated_at_ms for j in changed)
        data = json.dumps({"jobs": [_progress(j) for j in changed]}, separators=(",", ":"))
        self.progress = (self.progress[0] + 1, f"event: progress\ndata: {data}\n\n".encode())
        for sub in self._live:
            sub.push(self.progress[1], None)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, at_most_s: float) -> None:
        """Wait until new events or progress are read, the feed closes, or `at_most_s` passes."""
        changed = self._changed
        # asyncio.timeout, not wait_for: no task per waiting stream (a thousand streams wake together).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most_s):
                await changed.wait()

    def _fan_out(self, chunk: bytes, before: int) -> None:
        """Queue one read's frames (encoded once) to every live stream; one not at `before` catches up itself."""
        for sub in list(self._live):
            if sub.cursor == before:
                sub.push(chunk, self.head)
            else:
                self._live.discard(sub)
                sub.wake.set()

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a stream that ended."""
        self._live.discard(sub)

    async def catch_up(self, sub: Subscriber) -> bool:
        """Queue the next events of a stream behind the head (or a `reset`) and return True; or, when it is at
        the head, make it live (the feed queues for it from now on) and return False."""
        if sub.cursor >= self.head:
            self._live.add(sub)
            return False
        self._live.discard(sub)
        try:
            batch = await self.after(sub.cursor)
        except Reset as r:
            sub.push(frame("reset", {"reason": "too far behind: re-read the jobs", "head": r.head}, r.head), r.head)
            return True
        if batch:
            sub.push(b"".join(e.frame for e in batch), batch[-1].event_id)
        else:
            sub.cursor = self.head  # nothing stored in between (ids may skip: a rolled-back sequence value)
        return True

    async def after(self, cursor: int) -> list[Encoded]:
        """Return the next events after `cursor` (none when there are none yet).

        Raises:
            Reset: the stream is more than `max_behind` events behind, or behind the oldest kept event.
        """
        if cursor >= self.head:
            return []
        if self.head - cursor > self.max_behind:
            raise Reset(self.head)
        if cursor >= self._from:
            start = bisect.bisect_right(self._ids, cursor)
            return list(itertools.islice(self._ring, start, start + PAGE))
        oldest, _ = await self.client.event_bounds()
        if cursor < oldest:
            raise Reset(self.head)
        events = await self.client.job_events(after_id=cursor, limit=PAGE)
        jobs = await self.client.jobs_by_ids(e.job_id for e in events)
        return [encode(e, jobs.get(e.job_id)) for e in events]


def _progress(job: Job) -> dict[str, object]:
    return {"job_id": job.job_id, "status": job.status.value, "current_step": job.current_step,
            "progress_percentage": round(job.progress * 100, 1), "progress_message": job.to_dict()["progress_message"],
            "updated_at_ms": job.updated_at_ms}
