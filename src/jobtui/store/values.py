"""The records the store hands its callers and takes from them: plain data, no SQL, no driver (store/protocol.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Action, Job, JobId, JobStatus, StageStatus


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to insert."""

    type: str
    params: dict[str, Any]
    stage_names: tuple[str, ...]
    max_attempts: tuple[int, ...]
    priority: int = 0
    unique_key: str | None = None
    run_at_ms: int | None = None
    max_retries: int = 0
    after: tuple[JobId, ...] = ()
    """Jobs that must complete before this one starts."""
    notify: tuple[tuple[str, str], ...] = ()
    """Where its ends are told: (kind, target), kind 'url' or 'cmd'."""
    timeout_ms: int | None = None
    """A limit for each run of the job; None: the job type's."""
    needs: tuple[str, ...] = ()
    """Tags a runner must have to claim it (checked by `jobtui.fleet.check_tags`)."""
    labels: tuple[tuple[str, str], ...] = ()
    """Its labels, (key, value) sorted by key (checked by `jobtui.labels`)."""
    notify_on: tuple[str, ...] = ()
    """The moments its targets are told of (`--notify-on`, jobtui/notify_on.py); (): its ends only."""
    queue: str | None = None
    """The queue it runs under (it must exist when the job is stored)."""


@dataclass(frozen=True, slots=True)
class StageRecord:
    """What the engine needs to resume a stage."""

    index: int
    name: str
    status: StageStatus
    attempts: int
    generation: int
    output: Any
    state: Any
    items_done: int
    items_failed: int
    runs: int = 0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job a runner has just claimed, with its stage records."""

    job: Job
    stages: tuple[StageRecord, ...]
    output_bytes: int | None = None
    """Bytes of command output its earlier runs logged, read with the claim (None: not read)."""
    processes_left: bool = True
    """Whether the claim found process rows of the job not known to have ended (False: no stage has leftovers
    to end before its first command)."""
    ahead: tuple[int, str] | None = None
    """(stage index, token) of the containment whose process row the claim committed for that stage's first
    command (`Ahead`), or None."""


@dataclass(frozen=True, slots=True)
class Ahead:
    """Containments made before a claim, for the first command of the jobs it takes (issue 18, `add` jobs).

    Each job of `types` that the claim takes, with no process row left by an earlier run, gets one: its process
    row (pid 0, token, cgroup) is written in the claim's transaction, at the first stage not completed, and that
    stage's run counted (`runs`), so the command starts without a commit of its own before its fork
    (engine/contain_ahead.py).
    """

    types: frozenset[str]
    """The job types whose first stage starts a command."""
    containments: tuple[tuple[str, str | None], ...]
    """(token, cgroup folder or None) of each containment, given out in this order."""
    boot_id: str
    """The host and PID namespace the rows are recorded under."""


@dataclass(frozen=True, slots=True)
class ControlResult:
    """The outcome of one control request."""

    job_id: JobId
    action: Action
    before: JobStatus
    after: JobStatus | None
    """None when the job was deleted."""


@dataclass(frozen=True, slots=True)
class Watched:
    """A running job of this runner whose targets want `progress` or `retrying`."""

    job_id: JobId
    notify_on: str
    percent: float
    retry_at_ms: int | None
    """When a stage that failed will be tried again (a stage in `retrying`), if one is."""


@dataclass(frozen=True, slots=True)
class DbSize:
    """The database's size on disk and the part of it a VACUUM would give back."""

    file_bytes: int
    """The main file."""
    wal_bytes: int
    """The write-ahead log beside it (0 when there is none)."""
    free_bytes: int
    """Free pages (freelist_count × page_size): what VACUUM would reclaim."""
    page_size: int
