"""A job's outputs: its log (paged), its items exported (CSV or JSON lines, streamed), its files (confined)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse

from ...client import Client
from ...model import JobId, iso
from ...redaction import Secrets, redact
from ..auth import ClientDep, Reader
from ..problems import Problem
from ..schemas import MAX_ID, PROBLEMS, LogsOut
from ..uploads import UPLOADS
from .jobs import job_id_path

router = APIRouter(prefix="/jobs", tags=["outputs"], responses=PROBLEMS)

_CSV_COLUMNS = ("stage", "key", "status", "attempts", "updated_at", "error", "result")


@router.get("/{job_id}/logs", summary="A job's log lines", responses={200: {"model": LogsOut}})
async def logs(job_id: int, client: ClientDep, _: Reader,
               after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
               limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> JSONResponse:
    """Return up to `limit` log lines after `after_id` (secrets redacted); `next_after_id` continues."""
    job = await client.job(job_id_path(job_id))
    secrets = Secrets.of(job.params)
    lines = await client.logs(job.job_id, after_id=after_id, limit=limit)
    return JSONResponse({
        "lines": [{"log_id": ln.log_id, "at": iso(ln.ts_ms), "level": ln.level, "message": redact(ln.message, secrets)}
                  for ln in lines],
        "next_after_id": lines[-1].log_id if lines else after_id,
    })


async def _rows(client: Client, job_id: JobId, secrets: Secrets, fmt: str) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    if fmt == "csv":
        writer.writerow(_CSV_COLUMNS)
    async for item in client.export(job_id):
        row: dict[str, Any] = {"stage": item.stage, "key": item.key, "status": item.status.value,
                               "attempts": item.attempts, "updated_at": iso(item.updated_at_ms),
                               "error": item.error, "result": item.result}
        row = redact(row, secrets)
        if fmt == "csv":
            writer.writerow([json.dumps(row[c]) if c == "result" else ("" if row[c] is None else row[c])
                             for c in _CSV_COLUMNS])
        else:
            buf.write(json.dumps(row, default=str) + "\n")
        if buf.tell() > 1 << 16:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


@router.get("/{job_id}/export", summary="A job's item results (CSV or JSON lines)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                         "application/x-ndjson": {"schema": {"type": "string"}}}}})
async def export(job_id: int, client: ClientDep, _: Reader,
                 format: Annotated[Literal["csv", "jsonl"], Query()] = "jsonl") -> StreamingResponse:
    """Stream every stored item outcome (also the partial results of a stopped job), secrets redacted."""
    job = await client.job(job_id_path(job_id))
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        _rows(client, job.job_id, Secrets.of(job.params), format), media_type=media,
        headers={"Content-Disposition": f'attachment; filename="job-{job.job_id}.{format}"'})


def confined(workspace: Path, relative: str) -> Path:
    """Return the file `relative` names inside `workspace`, or raise a 404 Problem for anything else: an absolute
    path, a `..` part, a symlink anywhere on the way out of the workspace, or not a regular file."""
    missing = Problem(404, "file-not-found", "No such file", f"the job has no file {relative!r}")
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or "\\" in relative or any(p in ("..", ".", "") for p in parts):
        raise missing
    root = workspace.resolve()
    path = root.joinpath(*parts)
    try:
        real = path.resolve(strict=True)
        real.relative_to(root)
        if path != real:  # a symlink on the way (even one pointing inside: what is served is what is named)
            raise missing
        if not stat.S_ISREG(os.stat(real, follow_symlinks=False).st_mode):
            raise missing
    except (OSError, ValueError):
        raise missing from None
    return real


@router.get("/{job_id}/files/{path:path}", summary="A file of a job's workspace",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def file(job_id: int, path: str, client: ClientDep, _: Reader) -> StreamingResponse:
    """Download a file the job tracked, or one uploaded with it (`uploads/NAME`), from its workspace only."""
    detail = await client.detail(job_id_path(job_id))
    tracked = {f.path for f in detail.files}
    if path not in tracked and not path.startswith(f"{UPLOADS}/"):
        raise Problem(404, "file-not-found", "No such file", f"the job has no file {path!r}")
    real = confined(client.workspace(detail.job.job_id), path)
    try:
        # O_NOFOLLOW: a symlink swapped in after the check above is refused, not followed.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        raise Problem(404, "file-not-found", "No such file", f"the job has no file {path!r}") from None
    size = os.fstat(fd).st_size
    return StreamingResponse(_chunks(fd), media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{real.name}"', "Content-Length": str(size)})


async def _chunks(fd: int) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(os.read, fd, 1 << 16):
            yield chunk
    finally:
        os.close(fd)
