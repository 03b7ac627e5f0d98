"""RunnerOptions: how a runner runs (concurrency, grace, lease, polling, limits, identity, background duties)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from ..kinds import RunnerEvent
from ..model import JobId
from .retention import PERIOD_S

LOG_LIMIT = 10_000
"""Log lines kept per job; older ones are dropped."""
OUTPUT_LIMIT = 8 * 1024 * 1024
"""Bytes of command output logged per job by one runner; past it, lines are counted and dropped."""


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """How a runner runs; every field has a default (`Runner(store, registry, concurrency=8)` overrides one)."""

    concurrency: int = 4
    """Jobs run at once."""
    grace_s: float = 10.0
    """How long a paused or shut-down job may take to reach a safe point before interruption."""
    lease_ttl_s: float = 15.0
    """A runner whose heartbeat is older than this is taken for dead."""
    poll_s: float = 0.5
    """How often an idle runner looks for new jobs."""
    control_poll_s: float = 0.2
    """How often a busy runner looks for control requests (pause, cancel) of its jobs."""
    log_limit: int = LOG_LIMIT
    """Log lines kept per job."""
    output_limit: int = OUTPUT_LIMIT
    """Bytes of command output logged per job."""
    workspace_root: Path | None = None
    """The folder of the jobs' workspaces (None: the store's)."""
    runner_id: str | None = None
    """The runner's unique id (None: `<host>:<pid>:<random>`)."""
    name: str | None = None
    """What `stats`, `runners` and the TUI call it (None: `<host>-<pid>`)."""
    tags: Iterable[str] = ()
    """It claims only jobs whose needs are all among these."""
    on_event: Callable[[RunnerEvent, JobId | None], None] | None = None
    """Called on every runner event (a job started, completed, paused...)."""
    notify_defaults: Sequence[tuple[str, str]] | None = None
    """Where every job's ends are told (None: from the environment)."""
    notify: bool = True
    """Deliver the notification outbox (False: leave it to other runners)."""
    schedules: bool = True
    """Fire recurring schedules (False: leave them to other runners)."""
    keep_ms: int | None = None
    """Delete finished jobs older than this (None: keep them all)."""
    retention_period_s: float = PERIOD_S
    """How often retention runs."""
    lease_thread: bool = False
    """Also renew the lease from a thread of its own (the embedded runner: the UI sharing its loop may be busy)."""


class RunnerOverrides(TypedDict, total=False):
    """The fields of RunnerOptions as keyword arguments of `Runner(...)` and `Client.embedded_runner(...)`."""

    concurrency: int
    grace_s: float
    lease_ttl_s: float
    poll_s: float
    control_poll_s: float
    log_limit: int
    output_limit: int
    workspace_root: Path | None
    runner_id: str | None
    name: str | None
    tags: Iterable[str]
    on_event: Callable[[RunnerEvent, JobId | None], None] | None
    notify_defaults: Sequence[tuple[str, str]] | None
    notify: bool
    schedules: bool
    keep_ms: int | None
    retention_period_s: float
    lease_thread: bool


def workspace_root_for(db_path: Path) -> Path:
    """Return the folder that holds the job workspaces of a database."""
    return db_path.parent / f"{db_path.stem}.workspaces"
