"""Steering a job: pause, resume, cancel, retry, fail, rewind (POST), delete (DELETE); replies in the seeds' words."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...client import Client
from ...model import Action, JobId, JobStatus
from ..auth import Admin, ClientDep, Steerer
from ..replies import Reply
from ..schemas import PROBLEMS, ActionOut, FailBody, RewindBody
from .jobs import job_id_path

router = APIRouter(prefix="/jobs", tags=["actions"], responses=PROBLEMS)

_DONE_LATER = frozenset({JobStatus.PAUSING, JobStatus.CANCELLING})
"""States a request leaves a running job in until its runner reaches a safe point (so: 202)."""


async def _reply(client: Client, job_id: JobId, action: Action, before: JobStatus,
                 after: JobStatus | None) -> Reply:
    """Return what happened: 200 when done, 202 when the runner completes it at its next safe point."""
    later = after in _DONE_LATER
    job = None if after is None else await client.job(job_id)
    body = {
        "job_id": job_id, "action": action.value, "before": before.value,
        "after": None if after is None else after.value, "done": not later,
        "can_resume": bool(job and job.can_resume),
        "resumes_from": job.current_step if job is not None and action in (Action.RESUME, Action.RETRY,
                                                                           Action.REWIND) else None,
        "job": None if job is None else job.to_dict(),
    }
    return Reply(body, status_code=202 if later else 200)


_OK: dict[int | str, dict[str, Any]] = {200: {"model": ActionOut}, 202: {"model": ActionOut, "description": "the runner completes it at a safe point"}}


@router.post("/{job_id}/pause", summary="Pause a job", responses=_OK)
async def pause(job_id: int, client: ClientDep, _: Steerer) -> Reply:
    """Pause: a running job stops at its next safe point (202), a waiting one at once (200)."""
    r = await client.pause(job_id_path(job_id))
    return await _reply(client, r.job_id, r.action, r.before, r.after)


@router.post("/{job_id}/resume", summary="Resume a job", responses=_OK)
async def resume(job_id: int, client: ClientDep, _: Steerer) -> Reply:
    """Resume a paused, failed or cancelled job from its last checkpoint."""
    r = await client.resume(job_id_path(job_id))
    return await _reply(client, r.job_id, r.action, r.before, r.after)


@router.post("/{job_id}/cancel", summary="Cancel a job", responses=_OK)
async def cancel(job_id: int, client: ClientDep, _: Steerer) -> Reply:
    """Cancel: a running job is interrupted at once (202); its checkpoints are kept."""
    r = await client.cancel(job_id_path(job_id))
    return await _reply(client, r.job_id, r.action, r.before, r.after)


@router.post("/{job_id}/retry", summary="Retry a job", responses=_OK)
async def retry(job_id: int, client: ClientDep, _: Steerer) -> Reply:
    """Run a failed job again now (or the failed items of a completed one)."""
    r = await client.retry(job_id_path(job_id))
    return await _reply(client, r.job_id, r.action, r.before, r.after)


@router.post("/{job_id}/fail", summary="Force a job to fail", responses=_OK)
async def fail(job_id: int, body: FailBody, client: ClientDep, _: Admin) -> Reply:
    """Force a job to fail with a reason (an admin's act): a running one is stopped at once."""
    r = await client.fail(job_id_path(job_id), body.reason)
    return await _reply(client, r.job_id, r.action, r.before, r.after)


@router.post("/{job_id}/rewind", summary="Run a job again from a stage", responses=_OK)
async def rewind(job_id: int, body: RewindBody, client: ClientDep, _: Admin) -> Reply:
    """Run the job again from `stage` (its items and later stages are redone)."""
    r = await client.rewind(job_id_path(job_id), body.stage)
    return await _reply(client, r.job_id, r.action, r.before, r.after)


@router.delete("/{job_id}", summary="Delete a job", responses=_OK)
async def delete(job_id: int, client: ClientDep, _: Admin) -> Reply:
    """Delete a job no runner holds, with its items, logs and workspace."""
    r = await client.delete(job_id_path(job_id))
    return await _reply(client, r.job_id, r.action, r.before, r.after)
