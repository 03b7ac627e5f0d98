"""A POST /jobs body made into a Submission: a registered type's job, or a command job (admin only)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from ..apimodel import Scope, TokenInfo
from ..client import Submission
from ..jobs.command_params import build_add, build_foreach, command_args
from ..labels import labels_of
from ..targets import check_cmd, check_url
from .problems import Problem
from .schemas import JobCreate


def fingerprint(body: JobCreate, files: tuple[tuple[str, str], ...] = ()) -> str:
    """Return a digest of a request: a reused Idempotency-Key with another request is refused."""
    data = {"body": body.model_dump(mode="json", exclude_none=True), "files": sorted(files)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _command_job(body: JobCreate) -> tuple[str, dict[str, Any]]:
    given = [x for x in (body.command, body.shell, body.foreach) if x is not None]
    if len(given) > 1:
        raise Problem(422, "invalid-input", "Invalid input", "give one of command, shell and foreach")
    if body.type is not None or body.params:
        raise Problem(422, "invalid-input", "Invalid input", "a command job takes no type or params")
    env = [f"{k}={v}" for k, v in (body.env or {}).items()]
    common: dict[str, Any] = {"cwd": body.cwd, "env": env, "name": body.name}
    if body.foreach is not None:
        a = command_args(argv=list(body.foreach.command), args=list(body.foreach.items),
                         workers=body.foreach.workers, **common)
        return build_foreach(a)
    if body.shell is not None:
        return build_add(command_args(shell=body.shell, **common))
    return build_add(command_args(argv=list(body.command or []), **common))


def to_submission(body: JobCreate, token: TokenInfo) -> Submission:
    """Return the submission a body asks for.

    Raises:
        Problem: 403 for a command job or a command notification without an admin token; 422 for a body
            that mixes kinds of job.
        UsageError: as the CLI's checks say (a bad command, cwd, target).
    """
    admin = token.scope.allows(Scope.ADMIN)
    is_command = body.command is not None or body.shell is not None or body.foreach is not None
    if is_command:
        if not admin:
            raise Problem(403, "insufficient-scope", "Not allowed for this token",
                          "command jobs run programs on the server: they need an admin token", needed="admin")
        type_name, params = _command_job(body)
    else:
        if body.type is None:
            raise Problem(422, "invalid-input", "Invalid input", "give type (with params), or command, shell or foreach")
        if body.cwd is not None or body.env is not None or body.name is not None:
            raise Problem(422, "invalid-input", "Invalid input", "cwd, env and name are for command jobs")
        type_name, params = body.type, dict(body.params)
    notify: list[tuple[str, str]] = []
    for t in body.notify:
        if t.kind == "cmd":
            if not admin:
                raise Problem(403, "insufficient-scope", "Not allowed for this token",
                              "a notification command runs a program: it needs an admin token", needed="admin")
            notify.append(("cmd", check_cmd(t.target)))
        else:
            notify.append(("url", check_url(t.target)))
    run_at_ms = None
    if body.at is not None:
        at = body.at if body.at.tzinfo is not None else body.at.replace(tzinfo=UTC)
        run_at_ms = int(at.timestamp() * 1000)
    return Submission(
        type_name, params, priority=body.priority, run_at_ms=run_at_ms, unique_key=body.unique_key,
        max_retries=body.max_retries, after=tuple(body.after), notify=tuple(notify),
        timeout_ms=None if body.timeout is None else int(body.timeout * 1000), needs=tuple(body.needs),
        labels=labels_of(body.labels, "labels"),
    )
