"""Queues (issue 21 item 1): list, show, add, edit, pause (`now`: with their running jobs), resume, remove.

Reading needs `read`; pausing and resuming `steer` (as a job's pause); creating, changing and removing
limits `admin` (as schedules). The limits hold in every runner's claim, whichever face set them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...model import Queue, QueueLimits
from ...model.queues import parse_rate
from ..auth import Admin, ClientDep, Reader, Steerer
from ..replies import Reply
from ..schemas import PROBLEMS
from ..shapes import QueueActOut, QueueCreate, QueueEdit, QueueOut, RemovedOut, refusals

router = APIRouter(prefix="/queues", tags=["queues"], responses=PROBLEMS)

def _rate(text: str | None) -> tuple[int | None, int | None]:
    return (None, None) if text is None else parse_rate(text)


def _out(q: Queue) -> dict[str, Any]:
    return q.to_dict()


@router.get("", summary="Queues with their limits and counts", responses={200: {"model": list[QueueOut]}})
async def list_queues(client: ClientDep, _: Reader) -> Reply:
    """Return every queue: limits, paused, its jobs running and waiting, counts by status."""
    return Reply([_out(q) for q in await client.queues()])


@router.post("", summary="Add a queue", status_code=201, responses={201: {"model": QueueOut}})
async def add_queue(body: QueueCreate, client: ClientDep, _: Admin) -> Reply:
    """Create a queue (`jobtui queue add`); jobs name it in `queue`."""
    with refusals("queue"):
        count, window = _rate(body.rate)
        q = await client.add_queue(body.name, QueueLimits(body.concurrency, body.per_runner, count, window, body.slots))
    return Reply(_out(q), status_code=201, headers={"Location": f"/api/v1/queues/{q.name}"})


@router.get("/{name}", summary="One queue", responses={200: {"model": QueueOut}})
async def get_queue(name: str, client: ClientDep, _: Reader) -> Reply:
    """Return one queue with its limits and counts."""
    with refusals("queue"):
        return Reply(_out(await client.queue(name)))


@router.patch("/{name}", summary="Change a queue's limits", responses={200: {"model": QueueOut}})
async def edit_queue(name: str, body: QueueEdit, client: ClientDep, _: Admin) -> Reply:
    """Change the limits given (null removes one); the next claims apply them, running jobs finish."""
    given = body.model_fields_set
    with refusals("queue"):
        old = (await client.queue(name)).limits
        count, window = _rate(body.rate) if "rate" in given else (old.rate_count, old.rate_window_ms)
        limits = QueueLimits(
            body.concurrency if "concurrency" in given else old.concurrency,
            body.per_runner if "per_runner" in given else old.per_runner, count, window,
            old.slots if body.slots is None else body.slots)
        return Reply(_out(await client.edit_queue(name, limits)))


@router.post("/{name}/pause", summary="Pause a queue", responses={200: {"model": QueueActOut}})
async def pause_queue(
    name: str, client: ClientDep, _: Steerer,
    now: Annotated[bool, Query(description="also pause its running jobs (resume releases them)")] = False,
) -> Reply:
    """Stop runners starting the queue's jobs; with `now`, pause its running jobs too."""
    with refusals("queue"):
        q, paused = await client.pause_queue(name, now=now)
    return Reply({"queue": _out(await client.queue(q.name)), "jobs": paused})


@router.post("/{name}/resume", summary="Resume a queue", responses={200: {"model": QueueActOut}})
async def resume_queue(name: str, client: ClientDep, _: Steerer) -> Reply:
    """Let runners start the queue's jobs again, and resume the jobs its pause `now` paused."""
    with refusals("queue"):
        q, resumed = await client.resume_queue(name)
    return Reply({"queue": _out(await client.queue(q.name)), "jobs": resumed})


@router.delete("/{name}", summary="Remove a queue", responses={200: {"model": RemovedOut}})
async def remove_queue(name: str, client: ClientDep, _: Admin) -> Reply:
    """Delete a queue no job names any more (409 while one does)."""
    with refusals("queue"):
        await client.remove_queue(name)
    return Reply({"name": name, "removed": True})
