"""Jobs: list (keyset pages), submit (JSON or multipart with files, idempotent), read one, its stages and history."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request
from pydantic import ValidationError

from ...apimodel import TokenInfo
from ...redaction import Secrets, redact
from ..auth import ClientDep, Reader, Submitter
from ..grouping import SubmitGroup
from ..problems import Problem
from ..replies import Reply
from ..schemas import MAX_ID, PROBLEMS, HistoryOut, JobCreate, JobDetailOut, JobOut, JobPage, StageOut
from ..shapes import PageFilters
from ..submission import fingerprint, template_submission, to_submission
from ..uploads import Upload, read_upload

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=PROBLEMS)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200, min_length=1)]

_CREATE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["job"],
                "properties": {"job": {"type": "string", "description": "the job as JSON (JobCreate)"}},
                "additionalProperties": {"type": "string", "format": "binary"},
            }},
        },
    },
}


def job_id_path(job_id: int) -> int:
    """Return a job id from a path, or 404 for one no job can have."""
    if not 1 <= job_id <= MAX_ID:
        raise Problem(404, "job-not-found", "No such job", f"no job with id {job_id}", job_id=job_id)
    return job_id


@router.get("", summary="List jobs (keyset pages)", responses={200: {"model": JobPage}})
async def list_jobs(
    request: Request, client: ClientDep, _: Reader, narrowed: PageFilters,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only jobs with a smaller id")] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="asc: oldest first; desc: newest first")] = "asc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Reply:
    """Return one page of jobs in id order (`order=desc`: newest first); follow `next` for the following page."""
    jobs = await client.page_jobs(after_id=after_id, limit=limit, before_id=before_id, newest_first=order == "desc",
                                  **narrowed)
    nxt = None
    if len(jobs) == limit:
        cursor = "before_id" if order == "desc" else "after_id"
        query = [(k, v) for k, v in request.query_params.multi_items() if k != cursor]
        nxt = f"{request.url.path}?{urlencode([*query, (cursor, str(jobs[-1].job_id))])}"
    return Reply({"jobs": [j.to_dict() for j in jobs], "next": nxt})


@router.post("", summary="Submit a job", status_code=201, openapi_extra=_CREATE_DOC,
             responses={201: {"model": JobDetailOut}, 200: {"model": JobDetailOut,
                                                            "description": "the job this Idempotency-Key made before"}})
async def create_job(request: Request, client: ClientDep, token: Submitter,
                     idempotency_key: IdempotencyKey = None) -> Reply:
    """Queue a job (201); with an `Idempotency-Key` seen before from this token, return that job (200)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    upload: Upload | None = None
    if ctype == "multipart/form-data":
        upload = await read_upload(request, client.workspace_root, request.app.state.settings.max_upload_bytes)
        body = upload.body
    elif ctype == "application/json":
        raw = await request.body()
        try:
            body = JobCreate.model_validate_json(raw)
        except ValidationError as e:
            first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid"}
            where = ".".join(str(x) for x in first["loc"]) or "body"
            raise Problem(422, "invalid-input", "Invalid input", f"{where}: {first['msg']}") from None
    else:
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      "send application/json, or multipart/form-data with a 'job' field")
    try:
        return await _submit(client, request.app.state.submits, token, body, upload, idempotency_key)
    finally:
        if upload is not None:
            upload.discard()


async def _submit(client: ClientDep, group: SubmitGroup, token: TokenInfo, body: JobCreate, upload: Upload | None,
                  key: str | None) -> Reply:
    sub = to_submission(body, token) if body.template is None else await template_submission(client, body, token)
    files: tuple[tuple[str, str], ...] = ()
    prepare = None
    if upload is not None:
        files = tuple(upload.files)
        sub = replace(sub, params=upload.params())
        prepare = upload.mover(client.workspace)
    if key is None and prepare is None:
        job_id, created = await group.submit(sub), True  # in one transaction with concurrent requests' jobs
    else:
        job_id, created = await client.submit_once(token.name, key, fingerprint(body, files), sub, prepare)
    detail = await client.detail(job_id)
    headers = {"Location": f"/api/v1/jobs/{job_id}"}
    return Reply(detail.to_dict(), status_code=201 if created else 200, headers=headers)


@router.get("/{job_id}", summary="One job with its stages", responses={200: {"model": JobDetailOut}})
async def get_job(job_id: int, client: ClientDep, _: Reader) -> Reply:
    """Return the job detail of `jobtui show --json` (secret params redacted)."""
    detail = await client.detail(job_id_path(job_id))
    return Reply(detail.to_dict())


@router.get("/{job_id}/stages", summary="A job's stages", responses={200: {"model": list[StageOut]}})
async def get_stages(job_id: int, client: ClientDep, _: Reader) -> Reply:
    """Return the job's stages, in order, with times, counters and outputs (redacted)."""
    detail = await client.detail(job_id_path(job_id))
    return Reply(detail.to_dict()["stages"])


@router.get("/{job_id}/history", summary="Requests that changed a job", responses={200: {"model": list[HistoryOut]}})
async def get_history(job_id: int, client: ClientDep, _: Reader) -> Reply:
    """Return the pause/resume/cancel/... requests and recoveries of the job: who and when."""
    job = await client.job(job_id_path(job_id))
    secrets = Secrets.of(job.params)
    return Reply([redact(r.to_dict(), secrets) for r in await client.history(job.job_id)])


__all__ = ["JobOut", "job_id_path", "router"]
