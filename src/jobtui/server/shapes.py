"""The API's bodies and replies for queues, templates and job edits (issue 21), and the problems their refusals are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import Field

from ..editing import EditRefusedError
from ..errors import UsageError
from ..labels import MAX_LABELS, label_filter
from ..model import JobStatus
from ..model.queues import MAX_LIMIT
from .problems import Problem
from .schemas import MAX_ID, Events, JobIdIn, JobOut, LabelMap, Name, NotifyTarget, Open, Strict

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Rate = Annotated[str, Field(min_length=3, max_length=40, description="N/DURATION, e.g. 5/10s or 100/1h")]
Tag = Annotated[str, Field(max_length=64)]


class QueueCreate(Strict):
    """A new queue and its limits, which hold across every runner of the database."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    concurrency: Limit | None = None
    """Its jobs running at once, across every runner."""
    per_runner: Limit | None = None
    """Its jobs running at once on one runner."""
    rate: Rate | None = None
    """At most N starts in any DURATION."""
    slots: bool = False
    """Number its running jobs ($JOBTUI_SLOT, ctx.slot) within per_runner, else concurrency; never two on one."""


class QueueEdit(Strict):
    """A queue's limits to change: a field left out stays as it is; null removes a limit."""

    concurrency: Limit | None = None
    per_runner: Limit | None = None
    rate: Rate | None = None
    slots: bool | None = None


class QueueOut(Open):
    """A queue: its limits, whether it is paused, and its jobs counted by status."""

    name: str
    paused: bool
    concurrency: int | None
    per_runner: int | None
    rate: str | None
    slots: bool
    running: int
    waiting: int
    counts: dict[str, int]
    started_in_window: int


class QueueActOut(Open):
    """A queue after a pause or resume, and the running jobs that request paused (`now`) or resumed."""

    queue: QueueOut
    jobs: list[int]


class RemovedOut(Open):
    """What was removed."""

    name: str
    removed: bool


class TemplateCreate(Strict):
    """A template: a job `type` with params and options (or a copy of job `from_job`'s, `params` set over)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    type: Name | None = None
    from_job: JobIdIn | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    priority: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] | None = None
    max_retries: Annotated[int, Field(ge=0, le=1000)] | None = None
    timeout: Annotated[float, Field(gt=0, le=10 * 365 * 86_400)] | None = None
    """Seconds for each run of a job of it."""
    needs: Annotated[list[Tag], Field(max_length=64)] = Field(default_factory=list)
    labels: LabelMap = Field(default_factory=dict)
    queue: Name | None = None
    notify: Annotated[list[NotifyTarget], Field(max_length=20)] = Field(default_factory=list)
    notify_on: Events = Field(default_factory=list)
    replace: bool = False
    """Overwrite a template of this name."""


class TemplateOut(Open):
    """A template as `jobtui template show --json` prints it (secret params redacted)."""

    name: str
    type: str
    params: dict[str, Any]
    options: dict[str, Any]
    created_at: str | None
    updated_at: str | None


class JobEditBody(Strict):
    """What to change in a job no runner runs (`jobtui edit`): a field left out stays as it is."""

    params: dict[str, Any] | None = None
    """Params to set over the job's (a key set to null is removed); they reach the stages not yet completed."""
    priority: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] | None = None
    at: datetime | None = None
    """Not before this time (a job waiting to start; ISO 8601 with a zone)."""
    timeout: Annotated[float, Field(gt=0, le=10 * 365 * 86_400)] | None = None
    max_retries: Annotated[int, Field(ge=0, le=1000)] | None = None
    needs: Annotated[list[Tag], Field(max_length=64)] | None = None
    """The whole new set of tags a runner must have ([]: any runner)."""
    after: Annotated[list[JobIdIn], Field(max_length=1000)] = Field(default_factory=list)
    """More jobs to wait for (a job that has not started)."""
    labels: LabelMap = Field(default_factory=dict)
    """Labels to set."""
    unlabel: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=32)] = Field(default_factory=list)
    """Label keys to remove."""
    queue: Name | None = None
    """The queue to run under; null: no queue."""


class EditOut(Open):
    """What an edit changed, in words (as `jobtui edit` prints it), and the job after it."""

    job_id: int
    before: str
    after: str
    changes: list[str]
    job: JobOut


async def page_filters(
    status: Annotated[list[JobStatus] | None, Query()] = None,
    type: Annotated[list[Annotated[str, Query(max_length=200)]] | None, Query()] = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_ID, description="created at or after (epoch ms)")] = None,
    until: Annotated[int | None, Query(ge=0, le=MAX_ID, description="created before (epoch ms)")] = None,
    unique_key: Annotated[str | None, Query(max_length=200)] = None,
    stage: Annotated[str | None, Query(max_length=200)] = None,
    label: Annotated[list[Annotated[str, Query(max_length=300)]] | None,
                     Query(description="KEY=VALUE, or KEY for any value; repeatable, every one must hold")] = None,
    queue: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Return `GET /jobs`'s filters (status, type, creation time, unique key, stage, labels, queue) as
    `Client.page_jobs` takes them."""
    if label is not None and len(label) > MAX_LABELS:
        raise Problem(422, "invalid-input", "Invalid input", f"label: at most {MAX_LABELS} labels")
    return {"statuses": [s.value for s in status] if status else None, "types": type or None, "since_ms": since,
            "until_ms": until, "unique_key": unique_key, "stage": stage, "labels": label_filter(label, "label"),
            "queue": queue}


PageFilters = Annotated[dict[str, Any], Depends(page_filters)]


@contextmanager
def refusals(kind: str) -> Iterator[None]:
    """Turn a refusal about a `kind` (queue, template) or an edit into its problem: 404 none of that name,
    409 the name in use or still used, 409 an edit the job's state or progress refuses; others stay 422."""
    try:
        yield
    except EditRefusedError as e:
        raise Problem(409, "edit-refused", "Not editable in the job's state", str(e), job_id=e.job_id) from None
    except UsageError as e:
        text = str(e)
        if text.startswith(f"no {kind}"):
            raise Problem(404, f"{kind}-not-found", f"No such {kind}", text) from None
        if " exists " in f"{text} " or "still has" in text:
            raise Problem(409, f"{kind}-in-use", f"The {kind} name is in use", text) from None
        raise
