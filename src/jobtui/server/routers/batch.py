"""`POST /jobs:batch`: many jobs in one request and one transaction (a submit burst at `Client.submit_many`'s rate).

All or nothing, as `submit_many`: a refused job (bad type or params, a unique key in use, a command job
without an admin token) refuses the batch, names the job by its index, and stores nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from ...errors import ParamError, SubmitError, UnknownJobTypeError, UsageError
from ..auth import ClientDep, Submitter
from ..outputs import BatchOut
from ..problems import Problem, from_jobtui
from ..replies import Reply
from ..schemas import PROBLEMS, JobBatch
from ..submission import template_submission, to_submission

router = APIRouter(tags=["jobs"], responses=PROBLEMS)


def json_only(request: Request) -> None:
    """Refuse a body that is not JSON (415) before it is parsed."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise Problem(415, "unsupported-media-type", "Unsupported media type", "send application/json")


def no_idempotency_key(key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None) -> None:
    """Refuse an Idempotency-Key: a batch has no single job to return again (give each job a unique_key)."""
    if key is not None:
        raise Problem(422, "invalid-input", "Invalid input",
                      "jobs:batch takes no Idempotency-Key: give each job a unique_key to make a retry safe")


@router.post("/jobs:batch", summary="Submit many jobs in one transaction", status_code=201,
             dependencies=[Depends(json_only), Depends(no_idempotency_key)], responses={201: {"model": BatchOut}})
async def create_jobs(body: JobBatch, client: ClientDep, token: Submitter) -> Reply:
    """Queue every job of `jobs` in one transaction, or none (the problem names the refused job's index);
    201 with the jobs in the order given."""
    subs = []
    for i, job in enumerate(body.jobs):
        try:
            subs.append(to_submission(job, token) if job.template is None
                        else await template_submission(client, job, token))
        except Problem as p:
            raise _at(p, i) from None
        except UsageError as e:
            raise _at(from_jobtui(e, transient=False), i) from e
    try:
        ids = await client.submit_many(subs)
    except SubmitError as e:
        raise _at(from_jobtui(e.error, transient=False), e.index) from e
    except (UnknownJobTypeError, ParamError) as e:
        # submit_many names a refused job by its index from the second on; these can only be the first's.
        raise _at(from_jobtui(e, transient=False), 0) from e
    jobs = await client.jobs_by_ids(ids)
    return Reply({"jobs": [jobs[i].to_dict() for i in ids if i in jobs]}, status_code=201)


def _at(p: Problem, index: int) -> Problem:
    """Return the problem naming the refused job by its index in `jobs`."""
    p.detail = f"jobs.{index}: {p.detail or p.title}"
    p.extra["index"] = index
    return p
