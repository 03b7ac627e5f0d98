"""The replies of the meta, schedule and root routes, documented in OpenAPI (the jobs' are in schemas.py).

Each is an open object (server/schemas.py `Open`): the fields listed are always there, later versions may add
more. The property test (tests/server/test_openapi_properties.py) checks every reply against these."""

from __future__ import annotations

from typing import Any

from .schemas import JobOut, Open


class StatsOut(Open):
    """Jobs by status and type, items, live runners, the oldest queued job's age."""

    total: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    items_done: int
    items_failed: int
    runners: int
    oldest_queued_age_s: float | None


class RunnerOut(Open):
    """A runner working on this database."""

    name: str
    runner_id: str
    host: str
    pid: int
    tags: list[str]
    state: str
    """alive, stale (heartbeat past its lease) or gone."""
    jobs: list[int]
    concurrency: int
    started_at_ms: int
    heartbeat_at_ms: int
    heartbeat_age_s: float
    lease_ttl_ms: int | None


class ParamOut(Open):
    """A job type's parameter (a secret one's default masked)."""

    name: str
    type: str
    required: bool
    default: Any
    help: str | None
    choices: list[Any] | None
    min: float | None
    secret: bool


class TypeOut(Open):
    """A job type this server can submit."""

    name: str
    description: str | None
    stages: list[str]
    stages_from_params: bool
    max_retries: int
    params: list[ParamOut]


class ScheduleOut(Open):
    """A recurring job (params redacted)."""

    name: str
    cron: str | None
    timezone: str | None
    every_s: float | None
    type: str
    params: dict[str, Any]
    priority: int
    paused: bool
    next_run: str | None
    last_run: str | None
    last_job_id: int | None
    created_at: str | None


class ScheduleRunOut(Open):
    """One occurrence of a schedule: fired (with its job), skipped or error."""

    occurrence: str | None
    outcome: str
    job_id: int | None
    missed: int
    detail: str | None
    at: str | None
    runner_id: str | None


class ScheduleDetailOut(ScheduleOut):
    """A schedule and its latest occurrences, newest first."""

    runs: list[ScheduleRunOut]


class RemovedOut(Open):
    """A schedule removed."""

    name: str
    removed: bool


class HealthOut(Open):
    """Whether the server and its database answer."""

    status: str
    """ok, or unavailable (503, with the error's class in `detail`)."""


class BatchOut(Open):
    """The jobs a batch queued, in the order given."""

    jobs: list[JobOut]


def ok(model: type[Open], description: str = "OK") -> dict[int | str, dict[str, Any]]:
    """Return a route's `responses` entry documenting its 200 reply as `model`."""
    return {200: {"model": model, "description": description}}
