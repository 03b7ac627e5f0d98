"""Server-Sent Events: every job's events (`/events`) and one job's log (`/jobs/{id}/logs/stream`).

Both resume from `Last-Event-ID` (or `?after_id=`) without losing or repeating an event: the ids are the
database's (job event ids, log line ids), so a reconnect to a restarted or another server continues.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from ...errors import JobNotFoundError
from ...model import TERMINAL, Job
from ...redaction import Secrets, redact
from ..auth import ClientDep, Reader
from ..feed import EventFeed
from ..schemas import MAX_ID, PROBLEMS
from ..stream import SEND_TIMEOUT_S, EventStream
from .jobs import job_id_path

router = APIRouter(tags=["events"], responses=PROBLEMS)

LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)]
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "a stream of events (text/event-stream)",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def _cursor(last_event_id: str | None, after_id: int | None, default: int) -> int:
    if last_event_id is not None and last_event_id.strip().isdigit():
        return min(int(last_event_id.strip()), MAX_ID)
    return after_id if after_id is not None else default


def _shutdown(cursor: int) -> ServerSentEvent:
    return ServerSentEvent(json.dumps({"reason": "server stopping", "last_event_id": cursor}), event="shutdown")


@router.get("/events", summary="Every job's events (SSE)", responses=_STREAM_DOC, response_class=EventStream,
            status_code=200)
async def events(request: Request, _: Reader, last_event_id: LastEventId = None,
                 after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None) -> EventStream:
    """Stream `job` events (submitted, each status change, deleted; id = event id; data: the event and the job),
    `notification` events (a job's notification queued, sent or given up; numbered with the job events),
    `progress` snapshots of running jobs (at most one a second, no id), `reset` when too far behind, and
    `shutdown` when the server stops. Without `Last-Event-ID` or `after_id`, starts from now."""
    feed: EventFeed = request.app.state.feed
    cursor = _cursor(last_event_id, after_id, feed.head)
    return EventStream(feed, cursor, request.app.state.settings.sse_ping_s)


async def _log_lines(request: Request, client: ClientDep, job_id: int, cursor: int,
                     feed: EventFeed) -> AsyncIterator[ServerSentEvent]:
    secrets = Secrets.of((await client.job(job_id)).params)
    while True:
        if feed.closing.is_set():
            yield _shutdown(cursor)
            return
        lines = await client.logs(job_id, after_id=cursor, limit=500)
        for line in lines:
            data = {"log_id": line.log_id, "job_id": line.job_id, "ts_ms": line.ts_ms, "level": line.level,
                    "message": redact(line.message, secrets)}
            yield ServerSentEvent(json.dumps(data), event="log", id=str(line.log_id))
            cursor = line.log_id
        if len(lines) < 500:
            try:
                job: Job | None = await client.job(job_id)
            except JobNotFoundError:
                job = None  # deleted meanwhile
            if (job is None or job.status in TERMINAL) and not await client.logs(job_id, after_id=cursor, limit=1):
                yield ServerSentEvent(json.dumps({"job_id": job_id, "status": job.status.value if job else None}),
                                      event="end", id=str(cursor))
                return
            await feed.wait(0.5)


@router.get("/jobs/{job_id}/logs/stream", summary="A job's log, live (SSE)", responses=_STREAM_DOC,
            response_class=EventSourceResponse)
async def log_stream(request: Request, job_id: int, client: ClientDep, _: Reader, last_event_id: LastEventId = None,
                     after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None) -> EventSourceResponse:
    """Stream a job's log lines (`log`, id = line id) from `Last-Event-ID`/`after_id` (default: the start);
    `end` once the job has ended and every line was sent."""
    await client.job(job_id_path(job_id))  # 404 before the stream starts
    cursor = _cursor(last_event_id, after_id, 0)
    return EventSourceResponse(_log_lines(request, client, job_id, cursor, request.app.state.feed),
                               ping=request.app.state.settings.sse_ping_s, send_timeout=SEND_TIMEOUT_S)
