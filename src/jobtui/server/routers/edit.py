"""`PATCH /jobs/{id}`: edit a job no runner runs, with the rules and refusals of `jobtui edit` (issue 21 item 3).

One guarded transaction (jobtui/editing.py says which jobs and the params rule); the history records who
(`api:TOKEN_NAME`) and what. A running or completed job, or a params change the rule refuses, is a 409 problem
and nothing changes. Needs a `submit` token; changing a command job's params (its program) needs `admin`.
"""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter

from ...apimodel import Scope
from ...redaction import Secrets, redact
from ..auth import ClientDep, Submitter
from ..problems import Problem
from ..replies import Reply
from ..schemas import PROBLEMS
from ..shapes import EditOut, JobEditBody, refusals
from ..submission import COMMAND_TYPES
from .jobs import job_id_path

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=PROBLEMS)


@router.patch("/{job_id}", summary="Edit a job that is not running", responses={200: {"model": EditOut}})
async def edit_job(job_id: int, body: JobEditBody, client: ClientDep, token: Submitter) -> Reply:
    """Change the fields given of a queued, blocked, paused, failed or cancelled job (409 for another state)."""
    job = await client.job(job_id_path(job_id))
    if body.params and job.type in COMMAND_TYPES and not token.scope.allows(Scope.ADMIN):
        raise Problem(403, "insufficient-scope", "Not allowed for this token",
                      "a command job's params are the program it runs: changing them needs an admin token",
                      needed="admin")
    run_at_ms = None
    if body.at is not None:
        at = body.at if body.at.tzinfo is not None else body.at.replace(tzinfo=UTC)
        run_at_ms = int(at.timestamp() * 1000)
    no_queue = "queue" in body.model_fields_set and body.queue is None
    with refusals("job"), client.acting_as(f"api:{token.name}"):
        result = await client.edit(
            job.job_id, params=body.params, priority=body.priority, run_at_ms=run_at_ms,
            timeout_ms=None if body.timeout is None else int(body.timeout * 1000), max_retries=body.max_retries,
            needs=body.needs, after=body.after, labels=body.labels, unlabel=body.unlabel, queue=body.queue,
            no_queue=no_queue)
    after = await client.job(job.job_id)
    secrets = Secrets.of({**job.params, **after.params})
    return Reply({"job_id": job.job_id, "before": result.before.value, "after": result.after.value,
                  "changes": [redact(c, secrets) for c in result.changes], "job": after.to_dict()})
