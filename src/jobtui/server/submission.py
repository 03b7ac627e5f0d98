"""A POST /jobs body made into a Submission: a registered type's job, or a command job (admin only)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from ..apimodel import Scope, TokenInfo
from ..client import Client, Submission
from ..jobs.command_params import build_add, build_foreach, command_args
from ..labels import labels_of
from ..notify_on import check_notify_on
from ..targets import check_cmd, check_url
from ..templates import submission_options
from .problems import Problem
from .schemas import JobCreate, NotifyTarget, ScheduleCreate

COMMAND_TYPES = frozenset({"command", "pipeline", "foreach"})
"""The built-in types whose jobs run programs on the server: only an admin token may queue them."""


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
        if body.type in COMMAND_TYPES and not admin:
            raise Problem(403, "insufficient-scope", "Not allowed for this token",
                          f"a {body.type} job runs programs on the server: it needs an admin token", needed="admin")
        type_name, params = body.type, dict(body.params)
    notify = notify_targets(body.notify, admin)
    run_at_ms = None
    if body.at is not None:
        at = body.at if body.at.tzinfo is not None else body.at.replace(tzinfo=UTC)
        run_at_ms = int(at.timestamp() * 1000)
    return Submission(
        type_name, params, priority=body.priority, run_at_ms=run_at_ms, unique_key=body.unique_key,
        max_retries=body.max_retries, after=tuple(body.after), notify=tuple(notify),
        timeout_ms=None if body.timeout is None else int(body.timeout * 1000), needs=tuple(body.needs),
        labels=labels_of(body.labels, "labels"), queue=body.queue,
        notify_on=check_notify_on(body.notify_on, bool(notify)),
    )


def notify_targets(targets: Iterable[NotifyTarget], admin: bool) -> tuple[tuple[str, str], ...]:
    """Return notification targets, checked (403: a command without an admin token)."""
    out: list[tuple[str, str]] = []
    for t in targets:
        if t.kind == "cmd":
            if not admin:
                raise Problem(403, "insufficient-scope", "Not allowed for this token",
                              "a notification command runs a program: it needs an admin token", needed="admin")
            out.append(("cmd", check_cmd(t.target)))
        else:
            out.append(("url", check_url(t.target)))
    return tuple(out)


_GIVEN = {"priority": "priority", "max_retries": "max_retries", "timeout": "timeout_ms", "needs": "needs",
          "labels": "labels", "queue": "queue", "notify": "notify", "notify_on": "notify_on",
          "unique_key": "unique_key", "at": "run_at_ms", "after": "after"}
"""A body's fields and the Submission's names of them: those set in the body go over the template's."""


async def template_submission(client: Client, body: JobCreate, token: TokenInfo) -> Submission:
    """Return the submission of `POST /jobs` with a `template`, as `jobtui submit --template NAME` makes it: the
    template's type, params and options, with the body's params and each field it sets over them (labels merged).

    Raises:
        Problem: 422 for a template with a type or a command; 403 for a template that runs a program (a command
            job, or a command notification) without an admin token.
        UsageError: no template of this name, bad params or options.
    """
    if body.type is not None or any(x is not None for x in (body.command, body.shell, body.foreach)):
        raise Problem(422, "invalid-input", "Invalid input", "give template or type (or a command), not both")
    assert body.template is not None
    t = await client.template(body.template)
    runs_program = t.job_type in COMMAND_TYPES or any(kind == "cmd" for kind, _ in t.options.get("notify") or ())
    if runs_program and not token.scope.allows(Scope.ADMIN):
        raise Problem(403, "insufficient-scope", "Not allowed for this token",
                      f"template {t.name!r} runs a program on the server: it needs an admin token", needed="admin")
    sub = to_submission(body.model_copy(update={"type": t.job_type, "template": None, "notify_on": []}), token)
    given = {name: getattr(sub, name) for field, name in _GIVEN.items() if field in body.model_fields_set}
    if "notify_on" in given:
        given["notify_on"] = check_notify_on(body.notify_on, bool(sub.notify or t.options.get("notify")))
    return Submission(t.job_type, {**t.params, **body.params}, **submission_options(t, given))


def schedule_type(body: ScheduleCreate) -> str:
    """Return what a schedule fires: its `type`, or `@TEMPLATE` (422 for both or neither)."""
    if (body.type is None) == (body.template is None):
        raise Problem(422, "invalid-input", "Invalid input", "give type or template (one of them)")
    return body.type if body.type is not None else f"@{body.template}"


def schedule_options(body: ScheduleCreate) -> dict[str, Any]:
    """Return `Client.add_schedule`'s labels, queue, notify and notify_on from a body (checked)."""
    notify = notify_targets(body.notify, True)  # adding a schedule needs an admin token
    return {"labels": tuple(labels_of(body.labels, "labels")), "queue": body.queue, "notify": notify,
            "notify_on": check_notify_on(body.notify_on, bool(notify))}
