"""Counts, runners, job types (secret defaults masked) and recurring schedules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...redaction import REDACTED, is_secret_name
from ..auth import Admin, ClientDep, Reader, Steerer
from ..outputs import RemovedOut, RunnerOut, ScheduleDetailOut, ScheduleOut, StatsOut, TypeOut, ok
from ..schemas import PROBLEMS, ScheduleCreate
from ..submission import schedule_options, schedule_type

router = APIRouter(tags=["meta"], responses=PROBLEMS)


@router.get("/stats", summary="Counts by status and type", responses=ok(StatsOut))
async def stats(client: ClientDep, _: Reader) -> JSONResponse:
    """Return jobs by status and by type, items done and failed, and the live runners' count."""
    s = await client.stats()
    oldest = await client.oldest_queued_ms()
    return JSONResponse({
        "total": s.total, "by_status": s.by_status, "by_type": s.by_type, "items_done": s.items_done,
        "items_failed": s.items_failed, "runners": len(await client.live_runners()),
        "oldest_queued_age_s": None if oldest is None else max(0, client.now_ms() - oldest) / 1000,
    })


@router.get("/runners", summary="The runners working on this database", responses={200: {"model": list[RunnerOut]}})
async def runners(client: ClientDep, _: Reader) -> JSONResponse:
    """Return every registered runner: name, host, tags, the jobs it holds, heartbeat age, health."""
    return JSONResponse([r.to_dict() for r in await client.fleet()])


def _param(name: str, p: Any) -> dict[str, Any]:
    secret = is_secret_name(name)
    required = repr(p.default) == "REQUIRED"  # the engine's sentinel, told by its repr as `jobtui types` does
    default = None if required else (REDACTED if secret and p.default else p.default)
    return {"name": name, "type": getattr(p.type, "__name__", str(p.type)), "required": required,
            "default": default, "help": p.help, "choices": None if p.choices is None else list(p.choices),
            "min": p.min, "secret": secret}


@router.get("/types", summary="The job types this server can submit", responses={200: {"model": list[TypeOut]}})
async def types(client: ClientDep, _: Reader) -> JSONResponse:
    """Return each job type: its stages, params (type, default, help, choices; secret ones masked)."""
    return JSONResponse([
        {"name": t.name, "description": t.description, "stages": [s.name for s in t.stages],
         "stages_from_params": t.stages_from is not None, "max_retries": t.max_retries,
         "params": [_param(n, p) for n, p in t.params.items()]}
        for t in client.types()
    ])


@router.get("/schedules", summary="Recurring schedules", responses={200: {"model": list[ScheduleOut]}})
async def schedules(client: ClientDep, _: Reader) -> JSONResponse:
    """Return every schedule (params redacted) with its next and last run."""
    return JSONResponse([s.to_dict() for s in await client.schedules()])


@router.post("/schedules", summary="Add a schedule", status_code=201, responses={201: {"model": ScheduleOut}})
async def add_schedule(body: ScheduleCreate, client: ClientDep, _: Admin) -> JSONResponse:
    """Store a recurring job of a `type` or a `template`: `cron` (with `timezone`) or `every` seconds."""
    s = await client.add_schedule(
        body.name, schedule_type(body), body.params, cron=body.cron, tz=body.timezone,
        every_ms=None if body.every is None else int(body.every * 1000), priority=body.priority,
        max_retries=body.max_retries, **schedule_options(body))
    return JSONResponse(s.to_dict(), status_code=201)


@router.get("/schedules/{name}", summary="One schedule and its latest runs", responses=ok(ScheduleDetailOut))
async def schedule(name: str, client: ClientDep, _: Reader) -> JSONResponse:
    """Return a schedule and its latest occurrences (newest first)."""
    s, runs = await client.schedule(name)
    return JSONResponse({**s.to_dict(), "runs": [r.to_dict() for r in runs]})


@router.post("/schedules/{name}/pause", summary="Pause a schedule", responses=ok(ScheduleOut))
async def pause_schedule(name: str, client: ClientDep, _: Steerer) -> JSONResponse:
    """Stop a schedule from firing until resumed."""
    await client.pause_schedule(name)
    s, _runs = await client.schedule(name)
    return JSONResponse(s.to_dict())


@router.post("/schedules/{name}/resume", summary="Resume a schedule", responses=ok(ScheduleOut))
async def resume_schedule(name: str, client: ClientDep, _: Steerer) -> JSONResponse:
    """Fire a paused schedule again from its next occurrence."""
    return JSONResponse((await client.resume_schedule(name)).to_dict())


@router.delete("/schedules/{name}", summary="Remove a schedule", responses=ok(RemovedOut))
async def remove_schedule(name: str, client: ClientDep, _: Admin) -> JSONResponse:
    """Delete a schedule and its history (the jobs it made stay)."""
    await client.remove_schedule(name)
    return JSONResponse({"name": name, "removed": True})
