"""Templates (issue 21 item 4): list, show, save, remove; `POST /jobs` with `template` queues a job of one.

Reading needs `read`; saving and removing need `admin` (a template may hold a command job or a command
notification, which runs a program each time a job of it is queued).
"""

from __future__ import annotations

from fastapi import APIRouter

from ..auth import Admin, ClientDep, Reader
from ..replies import Reply
from ..schemas import PROBLEMS
from ..shapes import RemovedOut, TemplateCreate, TemplateOut, refusals
from ..submission import notify_targets

router = APIRouter(prefix="/templates", tags=["templates"], responses=PROBLEMS)


@router.get("", summary="Saved job templates", responses={200: {"model": list[TemplateOut]}})
async def list_templates(client: ClientDep, _: Reader) -> Reply:
    """Return every template, by name (secret params redacted)."""
    return Reply([t.to_dict() for t in await client.templates()])


@router.post("", summary="Save a template", status_code=201, responses={201: {"model": TemplateOut}})
async def save_template(body: TemplateCreate, client: ClientDep, _: Admin) -> Reply:
    """Save a job type with params and options (or job `from_job`'s) under a name (`jobtui template save`)."""
    with refusals("template"):
        t = await client.save_template(
            body.name, body.type, body.params, from_job=body.from_job, replace=body.replace, priority=body.priority,
            max_retries=body.max_retries, timeout_ms=None if body.timeout is None else int(body.timeout * 1000),
            needs=body.needs, labels=body.labels, queue=body.queue,
            notify=[list(t) for t in notify_targets(body.notify, True)], notify_on=body.notify_on)
    return Reply(t.to_dict(), status_code=201, headers={"Location": f"/api/v1/templates/{t.name}"})


@router.get("/{name}", summary="One template", responses={200: {"model": TemplateOut}})
async def get_template(name: str, client: ClientDep, _: Reader) -> Reply:
    """Return one template: its type, params (secrets redacted) and options."""
    with refusals("template"):
        return Reply((await client.template(name)).to_dict())


@router.delete("/{name}", summary="Remove a template", responses={200: {"model": RemovedOut}})
async def remove_template(name: str, client: ClientDep, _: Admin) -> Reply:
    """Delete a template; the jobs made of it stay."""
    with refusals("template"):
        await client.remove_template(name)
    return Reply({"name": name, "removed": True})
