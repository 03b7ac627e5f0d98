"""The API's request bodies (validated: unknown fields refused) and the replies it documents in OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**53
"""Job ids beyond this are refused as input (JavaScript's safe integers; SQLite's ids fit well below)."""

Text = Annotated[str, Field(max_length=10_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
JobIdIn = Annotated[int, Field(ge=1, le=MAX_ID)]
LabelMap = Annotated[dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[str, Field(max_length=200)]],
                     Field(max_length=32)]
"""key: value texts to find a job by (`ls --label key=value`, `GET /jobs?label=key=value`)."""
Events = Annotated[list[Literal["started", "progress", "retrying", "ended"]], Field(max_length=4)]
"""The moments the `notify` targets are told of (`--notify-on`); empty: the job's end."""


class Strict(BaseModel):
    """A request body: fields not listed are refused."""

    model_config = ConfigDict(extra="forbid")


class NotifyTarget(Strict):
    """Where a job's end is told: a URL (POSTed JSON) or a command (admin only)."""

    kind: Literal["url", "cmd"]
    target: Annotated[str, Field(min_length=1, max_length=2000)]


class Foreach(Strict):
    """A command run once per item; `{}` in it is replaced by the item."""

    command: Annotated[list[Text], Field(min_length=1, max_length=1000)]
    items: Annotated[list[Text], Field(min_length=1, max_length=100_000)]
    workers: Annotated[int, Field(ge=1, le=64)] = 1


class JobCreate(Strict):
    """A new job: `type` and `params`, or a command job (`command`, `shell` or `foreach`; admin only)."""

    type: Name | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    command: Annotated[list[Text], Field(min_length=1, max_length=1000)] | None = None
    shell: Annotated[str, Field(min_length=1, max_length=100_000)] | None = None
    foreach: Foreach | None = None
    name: Name | None = None
    cwd: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    env: dict[Annotated[str, Field(min_length=1, max_length=200)], Text] | None = None
    priority: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] = 0
    at: datetime | None = None
    """Not before this time (ISO 8601 with a zone)."""
    after: Annotated[list[JobIdIn], Field(max_length=1000)] = Field(default_factory=list)
    needs: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)] = Field(default_factory=list)
    labels: LabelMap = Field(default_factory=dict)
    """key: value texts to find the job by (`ls --label key=value`)."""
    queue: Name | None = None
    """The queue it runs under (`GET /queues`); none: its type's default queue, if any."""
    template: Name | None = None
    """A saved template's type, params and options (instead of `type`); the fields given here are set over them."""
    notify_on: Events = Field(default_factory=list)
    timeout: Annotated[float, Field(gt=0, le=10 * 365 * 86_400)] | None = None
    """Seconds for each run of the whole job."""
    max_retries: Annotated[int, Field(ge=0, le=1000)] | None = None
    notify: Annotated[list[NotifyTarget], Field(max_length=20)] = Field(default_factory=list)
    unique_key: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class JobBatch(Strict):
    """Jobs to queue in one transaction (all or none)."""

    jobs: Annotated[list[JobCreate], Field(min_length=1, max_length=1000)]


class FailBody(Strict):
    """Why a job is forced to fail."""

    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class RewindBody(Strict):
    """The stage (name or 1-based number) to run again from."""

    stage: Annotated[str, Field(min_length=1, max_length=200)]


class ScheduleCreate(Strict):
    """A recurring job: a cron expression (with a zone) or a period in seconds."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    type: Name | None = None
    template: Name | None = None
    """A saved template (instead of `type`): each job fired is made of it as it is then, `params` set over its."""
    params: dict[str, Any] = Field(default_factory=dict)
    cron: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    every: Annotated[float, Field(ge=1, le=10 * 365 * 86_400)] | None = None
    priority: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] = 0
    max_retries: Annotated[int, Field(ge=0, le=1000)] | None = None
    labels: LabelMap = Field(default_factory=dict)
    """The labels of each job it fires."""
    queue: Name | None = None
    notify: Annotated[list[NotifyTarget], Field(max_length=20)] = Field(default_factory=list)
    notify_on: Events = Field(default_factory=list)


# ------------------------------------------------------------------------------------- replies (documented)
class Open(BaseModel):
    """A reply object: the fields listed are always there; more may come in later versions."""

    model_config = ConfigDict(extra="allow")


class JobOut(Open):
    """A job as `jobtui show --json` prints it (without stages); secret params redacted."""

    job_id: int
    type: str
    status: str
    params: dict[str, Any]
    priority: int
    unique_key: str | None
    current_step: str | None
    current_step_index: int
    total_steps: int
    progress_percentage: float
    progress_message: str | None
    last_successful_step: str | None
    failed_step: str | None
    error_message: str | None
    can_resume: bool
    pause_reason: str | None
    retry_count: int
    max_retries: int
    created_at: str | None
    updated_at: str | None


class StageOut(Open):
    """One stage of a job."""

    name: str
    status: str
    attempts: int
    items_total: int | None
    items_done: int
    items_failed: int


class JobDetailOut(JobOut):
    """A job with its stages, counters, files and dependencies."""

    stages: list[StageOut]
    counters: dict[str, int]
    files: list[dict[str, Any]]


class JobPage(Open):
    """One page of jobs (keyset): `next` is the link to the following page, null on the last."""

    jobs: list[JobOut]
    next: str | None


class ActionOut(Open):
    """What a request did, in the seeds' words."""

    job_id: int
    action: str
    before: str
    after: str | None
    done: bool
    """False: the change completes when the runner reaches a safe point (202)."""
    can_resume: bool
    resumes_from: str | None
    job: JobOut | None


class HistoryOut(Open):
    """A request or recovery that changed the job."""

    at: str | None
    action: str
    source: str


class LogOut(Open):
    """One log line."""

    log_id: int
    at: str | None
    level: str
    message: str


class LogsOut(Open):
    """Log lines after `after_id`; `next_after_id` continues."""

    lines: list[LogOut]
    next_after_id: int


class ProblemOut(Open):
    """An error (RFC 9457)."""

    type: str
    title: str
    status: int


_PROBLEM_SCHEMA = {k: v for k, v in ProblemOut.model_json_schema().items() if k != "title"}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    # The schema inline under the media type the replies have (a `model` would document application/json).
    code: {"description": "a problem (RFC 9457)", "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}}
    for code in (400, 401, 403, 404, 409, 413, 415, 422, 503)
}
"""The error replies every endpoint documents."""
