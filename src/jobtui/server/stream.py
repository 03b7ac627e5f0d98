"""The `/events` stream of one client: a bounded queue the feed fills, and one task that writes it out.

At a thousand subscribers the cost is what each one costs per batch of events (bench/bench_api.py, sse):
the feed reads and encodes a batch once and appends the same bytes to every live subscriber's queue
(fan-out, no per-subscriber query or encoding); each stream then writes what queued in one ASGI send, as a
plain ASGI response (sse-starlette ran four tasks and a cancel scope per send for each stream). A queue
that grows beyond its bound (a client that does not read) is dropped and the stream ends: the client
reconnects with Last-Event-ID and continues from the ring or the database, nothing lost, no memory held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from starlette.responses import Response

log = logging.getLogger("jobtui.server.stream")

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]

MAX_QUEUED_BYTES = 4 << 20
"""A live stream's unsent bytes beyond which it is dropped (it reconnects and reads from the ring)."""
SEND_TIMEOUT_S = 30.0
"""A client that takes longer than this to accept one write is disconnected (it resumes with Last-Event-ID)."""
HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
           (b"x-accel-buffering", b"no")]


class Subscriber:
    """One stream's queue of encoded frames: filled by the feed (live) or by the stream itself (catching up)."""

    __slots__ = ("chunks", "cursor", "dropped", "size", "wake")

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor
        """The id of the last job event queued (or sent) to this stream."""
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.dropped = False
        """Its queue overflowed: the stream ends, the client reconnects from its last id."""
        self.wake = asyncio.Event()

    def push(self, chunk: bytes, cursor: int | None) -> None:
        """Queue frames (through job event `cursor`, when they carry job events); drop the stream when full."""
        if self.dropped:
            return
        if self.size + len(chunk) > MAX_QUEUED_BYTES:
            self.dropped = True
            self.chunks.clear()
            self.size = 0
        else:
            self.chunks.append(chunk)
            self.size += len(chunk)
            if cursor is not None:
                self.cursor = cursor
        self.wake.set()

    def take(self) -> bytes:
        """Return everything queued, as one write."""
        data = b"".join(self.chunks) if len(self.chunks) != 1 else self.chunks[0]
        self.chunks.clear()
        self.size = 0
        self.wake.clear()
        return data


def frame(event: str, data: dict[str, object], event_id: int | None = None) -> bytes:
    """Return one SSE frame."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Feed(Protocol):
    """What a stream needs of the feed (server/feed.py EventFeed)."""

    closing: asyncio.Event

    async def catch_up(self, sub: Subscriber) -> bool:
        """Queue the next events of a stream behind the head and return True, or make it live and return False."""
        ...

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a stream that ended."""
        ...


class EventStream(Response):
    """The `/events` response: catch up from `cursor` (ring or database), then follow the feed live."""

    def __init__(self, feed: Feed, cursor: int, ping_s: float) -> None:
        super().__init__(media_type="text/event-stream")
        self.feed = feed
        self.cursor = cursor
        self.ping_s = ping_s

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        """Serve the stream until the client leaves, its queue overflows, or the server stops."""
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        sub = Subscriber(self.cursor)
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            sub.wake.set()

        watcher = asyncio.create_task(watch(), name="jobtui-sse-disconnect")
        try:
            await self._serve(sub, gone, send)
        finally:
            self.feed.unsubscribe(sub)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _write(self, send: Send, body: bytes, more: bool = True) -> None:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await send({"type": "http.response.body", "body": body, "more_body": more})

    async def _serve(self, sub: Subscriber, gone: asyncio.Event, send: Send) -> None:
        feed = self.feed
        while not gone.is_set():
            if feed.closing.is_set():
                body = frame("shutdown", {"reason": "server stopping", "last_event_id": sub.cursor})
                await self._write(send, sub.take() + body, more=False)
                return
            if sub.dropped:
                log.info("event stream dropped: its client fell %d bytes behind", MAX_QUEUED_BYTES)
                await self._write(send, b"", more=False)
                return
            if sub.chunks:
                await self._write(send, sub.take())
                continue
            if not await feed.catch_up(sub):
                # Live: the feed queues for it; wait for that, or ping an idle connection.
                sub.wake.clear()  # nothing queued (checked above, no await since)
                try:
                    async with asyncio.timeout(self.ping_s):
                        await sub.wake.wait()
                except TimeoutError:
                    await self._write(send, b": ping\n\n")
