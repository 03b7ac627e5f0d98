"""Multipart POST /jobs: the job as JSON in the `job` field, files in the others, put in the new job's workspace.

Each file is written to a staging folder first (names sanitised, sizes bounded), then moved into
`<workspace>/uploads/` inside the submission's transaction, so no runner starts the job before its files
are there. The job's params name each file by its path relative to the workspace, under its field's name.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from ..model import JobId
from .problems import Problem
from .schemas import JobCreate

UPLOADS = "uploads"
"""The folder of a job's workspace that uploaded files go to."""
MAX_FILES = 100
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(raw: str | None) -> str:
    """Return a file name fit for a workspace: its last path part, ASCII letters, digits, '.', '_', '-' only.

    Raises:
        Problem: 422 when nothing usable is left.
    """
    text = unicodedata.normalize("NFKD", raw or "").encode("ascii", "ignore").decode()
    base = re.split(r"[\\/]", text)[-1]
    name = _SAFE.sub("_", base).lstrip(".-")[:200]
    if not name or name in (".", ".."):
        raise Problem(422, "bad-upload", "Bad upload", f"unusable file name {raw!r}")
    return name


@dataclass
class Upload:
    """A parsed multipart submission: its JSON part and its files, staged."""

    body: JobCreate
    staging: Path
    files: list[tuple[str, str]] = field(default_factory=list)
    """(field, file name) of each file, in order."""

    def params(self) -> dict[str, Any]:
        """Return the body's params with each file field naming its file(s), relative to the workspace."""
        out = dict(self.body.params)
        by_field: dict[str, list[str]] = {}
        for name, filename in self.files:
            by_field.setdefault(name, []).append(f"{UPLOADS}/{filename}")
        for name, paths in by_field.items():
            if name in out:
                raise Problem(422, "bad-upload", "Bad upload", f"param {name!r} is given both as a value and a file")
            out[name] = paths[0] if len(paths) == 1 else paths
        return out

    def mover(self, workspace: Callable[[JobId], Path]) -> Callable[[JobId], Awaitable[None]]:
        """Return the step that moves the staged files into a new job's workspace (run before it commits)."""

        async def move(job_id: JobId) -> None:
            if not self.files:
                return
            target = workspace(job_id) / UPLOADS
            await asyncio.to_thread(_move, self.staging, target)

        return move

    def discard(self) -> None:
        """Remove the staging folder (whatever happened)."""
        shutil.rmtree(self.staging, ignore_errors=True)


def _move(staging: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if target.exists():
        shutil.rmtree(target)  # left by a submission that did not commit (its id was given again)
    staging.rename(target)


async def read_upload(request: Request, root: Path, max_bytes: int) -> Upload:
    """Parse a multipart POST /jobs and stage its files under `root` (the workspaces' folder).

    Raises:
        Problem: 422 for a missing or invalid `job` part, a bad file name or a repeated one, too many files.
    """
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES, max_part_size=max_bytes)
    except Problem:
        raise
    except Exception as e:  # python-multipart and Starlette raise several kinds for a malformed body
        raise Problem(422, "bad-upload", "Bad upload", f"malformed multipart body ({type(e).__name__})") from None
    try:
        job_part = form.get("job")
        if not isinstance(job_part, str):
            raise Problem(422, "bad-upload", "Bad upload", "the multipart body needs a 'job' field holding the job's JSON")
        try:
            body = JobCreate.model_validate_json(job_part)
        except ValidationError as e:
            first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid"}
            where = ".".join(str(x) for x in first["loc"]) or "job"
            raise Problem(422, "invalid-input", "Invalid input", f"{where}: {first['msg']}") from None
        staging = root / ".uploads" / secrets.token_hex(8)
        upload = Upload(body, staging)
        try:
            await _stage(form.multi_items(), upload)
        except BaseException:
            upload.discard()
            raise
        return upload
    finally:
        await form.close()


async def _stage(items: list[tuple[str, UploadFile | str]], upload: Upload) -> None:
    seen: set[str] = set()
    for name, value in items:
        if name == "job":
            continue
        if not isinstance(value, UploadFile):
            raise Problem(422, "bad-upload", "Bad upload", f"field {name!r}: only 'job' and files are accepted")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
            raise Problem(422, "bad-upload", "Bad upload", f"bad field name {name!r} (a param's name)")
        filename = safe_name(value.filename)
        if filename in seen:
            raise Problem(422, "bad-upload", "Bad upload", f"file name {filename!r} is given twice")
        seen.add(filename)
        await asyncio.to_thread(_copy, value, upload.staging / filename)
        upload.files.append((name, filename))


def _copy(src: UploadFile, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    src.file.seek(0)
    with dst.open("xb") as out:
        shutil.copyfileobj(src.file, out, 1 << 20)
