"""The Store contract: what the runner, the stage context, the notifier and the client may ask of a store.

Every backend (SQLite today, PostgreSQL for fleets) implements `JobStore`; the engine and the
client are typed against it, never against a backend's class, and tests/contract/ runs one suite
against each backend. The contract is split by who uses it:

* `JobReads`      the client's reads (CLI, TUI)
* `JobControl`    submission and a person's requests (one transaction each)
* `RunnerLeases`  a runner's lease, claims and recovery (one transaction each)
* `RunnerWrites`  the group-committed writes of running jobs: queued with no I/O, committed
                  together by the store's writer; `await commit_point()` makes them durable
* `Processes`     processes of command stages (pid, group, start time, boot id) and held jobs
* `Notifications` the outbox of notifications
* `Schedules`     recurring schedules and their occurrences
* `Queues`        named limits every runner's claim applies
* `JobStore`      all of them, plus identity, lifetime and the shared knobs

Promises every backend keeps (the contract suite checks them): a claim hands a job to one runner
only; a job's end applies only while the runner holds its lease; writes queued together commit in
rank order (see store/base.py `R_*`), keyed writes keep their last value; while `fence` is set, a
group commit writes nothing for a job its runner no longer holds and says so through `on_dropped`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..apimodel import JobEvent, TokenInfo
from ..editing import EditResult, JobEdit
from ..kinds import StopKind
from ..listing import Listing
from ..model import (
    Action,
    AttemptRecord,
    ItemRecord,
    Job,
    JobDetail,
    JobId,
    JobRef,
    JobStatus,
    LogLine,
    Notification,
    NotifyEvent,
    ProcessRecord,
    Queue,
    QueueLimits,
    RequestRecord,
    RunnerInfo,
    Schedule,
    ScheduleRun,
    StageStatus,
    Stats,
)
from ..templates import Template
from .life import Watched
from .records import Claimed, ControlResult, NewJob
from .retention import DbSize


class JobReads(Protocol):
    """Reads for the CLI and the TUI."""

    async def get_job(self, job_id: JobId) -> Job:
        """Return one job (JobNotFoundError if none has this id)."""
        ...

    async def get_detail(self, job_id: JobId) -> JobDetail:
        """Return one job with its stages, counters, files and dependencies."""
        ...

    async def list_jobs(
        self,
        *,
        statuses: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        limit: int | None = None,
        updated_after_ms: int | None = None,
        newest_first: bool = False,
        unique_key: str | None = None,
        stage: str | None = None,
        labels: Iterable[tuple[str, str | None]] = (),
        queue: str | None = None,
    ) -> list[Job]:
        """Return jobs by id, filtered by status, type, change time, unique key, current stage name and labels."""
        ...

    def iter_jobs(
        self,
        *,
        statuses: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        newest: int | None = None,
        page: int = 1000,
    ) -> AsyncIterator[Job]:
        """Yield jobs oldest first, a page at a time (only the `newest` N when given)."""
        ...

    async def job_ids(self) -> set[JobId]:
        """Return the ids of every job."""
        ...

    async def job_ids_signature(self) -> tuple[int, int, int]:
        """Return (count, max id, sum of ids) of the jobs: cheap to read, and it changes when a job is deleted."""
        ...

    async def job_ids_older_than(self, cutoff_ms: int, statuses: Iterable[str]) -> list[JobId]:
        """Return ids of jobs in `statuses` last updated before `cutoff_ms`."""
        ...

    async def change_token(self) -> tuple[int, int]:
        """Return a value that differs from the last one read whenever any change was committed since."""
        ...

    async def count_jobs(self, listing: Listing) -> int:
        """Return how many jobs the listing's filter matches."""
        ...

    async def window_jobs(self, listing: Listing, offset: int, limit: int) -> list[Job]:
        """Return the jobs at positions [offset, offset + limit) of the listing, in its order."""
        ...

    async def job_position(self, listing: Listing, job_id: JobId) -> int | None:
        """Return the position of a job in the listing (None when its filter does not match the job)."""
        ...

    async def matching_ids(self, listing: Listing, among: Iterable[JobId] | None = None) -> set[JobId]:
        """Return the ids of the jobs the listing's filter matches (only among `among` when given)."""
        ...

    async def job_changes(self, updated_after_ms: int) -> list[tuple[JobId, str, int]]:
        """Return (id, status, updated_at_ms) of the jobs updated after a time."""
        ...

    async def status_counts(self) -> dict[str, int]:
        """Return the number of jobs in each status."""
        ...

    async def unsettled_statuses(self) -> dict[JobId, str]:
        """Return the status of every job not in a terminal status."""
        ...

    async def stats(self, *, runner_ttl_ms: int = 30_000) -> Stats:
        """Return counts by status and type, item totals and live runners."""
        ...

    async def logs(self, job_id: JobId, *, after_id: int = 0, limit: int = 1000, tail: bool = False) -> list[LogLine]:
        """Return a job's log lines after `after_id` (with `tail`, the last `limit`)."""
        ...

    async def all_logs(self, *, after_id: int = 0, limit: int = 1000, tail: bool = False) -> list[LogLine]:
        """Return every job's log lines after `after_id`, in order (with `tail`, the last `limit`)."""
        ...

    def items(self, job_id: JobId, *, chunk: int = 5000) -> AsyncIterator[ItemRecord]:
        """Yield every stored item outcome of a job, by stage then key."""
        ...

    async def item_results(self, job_id: JobId, stage_index: int) -> dict[str, Any]:
        """Return the results of the done items of one stage, by key."""
        ...

    async def attempt_errors(self, job_id: JobId) -> list[AttemptRecord]:
        """Return every failed attempt of a job's stages, by stage then attempt."""
        ...

    async def requests(self, job_id: JobId) -> list[RequestRecord]:
        """Return the audit trail of a job: each request and recovery, who and when, oldest first."""
        ...

    async def runners(self) -> list[RunnerInfo]:
        """Return every registered runner, with its name and tags."""
        ...

    async def job_labels(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[tuple[str, str], ...]]:
        """Return, for each job that has any, its labels (key, value) sorted by key."""
        ...

    async def job_needs(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[str, ...]]:
        """Return, for each of `job_ids` that needs any, the tags a runner must have to claim it (sorted)."""
        ...

    async def held_jobs(self) -> dict[str, tuple[JobId, ...]]:
        """Return the jobs each runner holds (running, or paused with its stage held), by runner id."""
        ...

    async def dependencies(self, job_id: JobId) -> tuple[tuple[JobRef, ...], tuple[JobRef, ...]]:
        """Return (the jobs it depends on, the jobs that depend on it)."""
        ...

    async def waiting_on(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[JobRef, ...]]:
        """Return, per job that has any, the dependencies that have not completed."""
        ...

    async def notifications(self, job_id: JobId) -> tuple[Notification, ...]:
        """Return the notifications of a job."""
        ...

    async def notify_targets(self, job_id: JobId) -> tuple[tuple[str, str], ...]:
        """Return where a job's ends are told."""
        ...


class JobControl(Protocol):
    """Submission and a person's requests, each in one transaction."""

    async def add_jobs(self, jobs: Sequence[NewJob], *, source: str = "cli") -> list[JobId]:
        """Insert jobs; return their ids (UsageError on a unique-key clash: then nothing is stored)."""
        ...

    async def control(
        self, job_id: JobId, action: Action, *, source: str = "cli", to_stage: int | None = None,
        reason: str | None = None,
    ) -> ControlResult:
        """Apply a request (JobNotFoundError, InvalidTransitionError: nothing changes); `reason` for FAIL."""
        ...

    async def edit_job(self, job_id: JobId, edit: JobEdit, *, source: str = "cli") -> EditResult:
        """Edit a job no runner runs, in one guarded transaction recorded in its history (EditRefusedError if not)."""
        ...

    async def add_dependencies(self, job_id: JobId, deps: Sequence[JobId], *, source: str = "cli") -> JobStatus:
        """Make a job that has not started also wait for `deps`; return its status after."""
        ...

    async def blocked_dependents(self, job_id: JobId) -> list[JobId]:
        """Return the blocked jobs that wait on `job_id`."""
        ...

    async def request_runner_stop(self, runner_ids: Sequence[str]) -> int:
        """Ask runners to hand their jobs back and exit (read at their next heartbeat); return how many were asked."""
        ...


class RunnerLeases(Protocol):
    """A runner's lease, its claims and the recovery of other runners' jobs."""

    async def register_runner(self, info: RunnerInfo, *, is_dead: Callable[[RunnerInfo], bool] | None = None) -> None:
        """Record a runner, its lease TTL and its first heartbeat; refuse a name a live runner has (RunnerNameTakenError)."""
        ...

    async def heartbeat(self, runner_id: str) -> bool:
        """Renew a runner's lease; False when its row is gone (its jobs were reclaimed)."""
        ...

    async def unregister_runner(self, runner_id: str) -> None:
        """Remove a runner that stopped cleanly."""
        ...

    async def stop_requested(self, runner_id: str) -> bool:
        """Tell whether someone asked this runner to stop (`jobtui runners stop`)."""
        ...

    async def recover(
        self, *, self_id: str, ttl_ms: int, is_dead: Callable[[RunnerInfo], bool]
    ) -> list[tuple[JobId, JobStatus, JobStatus]]:
        """Release the jobs of runners whose lease expired or whose process is dead."""
        ...

    async def claim(self, runner_id: str, limit: int, types: Iterable[str]) -> list[Claimed]:
        """Atomically take up to `limit` runnable jobs of `types` (priority, then age) whose needs the runner's tags cover."""
        ...

    async def has_runnable(
        self, types: Iterable[str], *, due_by_ms: int | None = None, runner_id: str | None = None
    ) -> bool:
        """Tell whether any job of `types` is queued, waiting to retry or held by a runner (due by `due_by_ms`;
        with `runner_id`, a waiting job counts only when that runner has the tags it needs)."""
        ...

    async def next_due_ms(self, types: Iterable[str], *, runner_id: str | None = None) -> int | None:
        """Return when the earliest delayed or waiting job of `types` becomes runnable."""
        ...

    async def owned_requests(self, runner_id: str, *, expected: int | None = None) -> dict[JobId, JobStatus] | None:
        """Return the status of every job the runner holds (None: `expected` matched, nothing asked)."""
        ...

    async def release_ready(self) -> list[JobId]:
        """Queue every blocked job whose dependencies have all completed."""
        ...

    async def item_keys(self, job_id: JobId, stage_index: int) -> tuple[set[str], set[str]]:
        """Return the keys of the done and of the failed items of one stage."""
        ...


class RunnerWrites(Protocol):
    """Writes of running jobs: queued without I/O, committed together; `commit_point` makes them durable."""

    def stage_started(
        self, job_id: JobId, index: int, attempt: int, max_attempts: int, run: int | None = None, failures: int = 0
    ) -> None: ...

    def stage_state(self, job_id: JobId, index: int, state: Any) -> None: ...

    def file_tracked(self, job_id: JobId, index: int, path: str, size: int, sha256: str) -> None: ...

    def item_finished(
        self, job_id: JobId, index: int, key: str, ok: bool, result: Any, error: str | None, attempts: int
    ) -> None: ...

    def stage_counters(self, job_id: JobId, index: int, total: int | None, done: int, failed: int) -> None: ...

    def watch_stage_counters(self, job_id: JobId, index: int, read: Callable[[], tuple[int | None, int, int]]) -> None:
        """Queue: a stage's item counters, read when the next group commit takes its batch."""

    def stage_finished(self, job_id: JobId, index: int, output: Any, *, note: str | None = None) -> None: ...

    def stage_stopped(
        self, job_id: JobId, index: int, status: StageStatus, error: str | None, next_attempt_at_ms: int | None = None
    ) -> None: ...

    def attempt_failed(
        self, job_id: JobId, index: int, attempt: int, error: str, transient: bool, *,
        failures: int | None = None, traceback: str | None = None,
    ) -> None: ...

    def job_completed(self, job_id: JobId, runner_id: str, total_steps: int) -> None: ...

    def job_failed(self, job_id: JobId, runner_id: str, stage: str, error: str, *, retry_at_ms: int | None) -> None: ...

    def job_paused(self, job_id: JobId, runner_id: str, reason: str) -> None: ...

    def job_cancelled(self, job_id: JobId, runner_id: str) -> None: ...

    def job_released(self, job_id: JobId, runner_id: str) -> None: ...

    def job_held(self, job_id: JobId, runner_id: str, reason: str) -> None:
        """Queue: the job is paused, but its runner keeps holding it (its stage waits in place)."""

    def job_unheld(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the runner lets go of a held job (paused, or resumed but not yet continued)."""

    def progress(
        self, job_id: JobId, done: int, total: int, message: str | None, items_done: int, items_failed: int,
        consecutive_failures: int,
    ) -> None: ...

    def watch_progress(self, job_id: JobId, read: Callable[[], tuple[int, int, str | None, int, int, int]]) -> None:
        """Queue: a job's progress and counters, read when the next group commit takes its batch."""

    def log(self, job_id: JobId, level: str, message: str, *, held: bool = True) -> None: ...

    def trim_logs(self, job_id: JobId, keep: int) -> None: ...

    def notify_event(self, job_id: JobId, event: NotifyEvent) -> None: ...

    async def commit_point(self) -> None:
        """Return once everything queued so far is committed (StoreError: it was dropped)."""
        ...

    @property
    def pending(self) -> int:
        """How many writes wait for the next group commit."""
        ...

    @property
    def stalled(self) -> bool:
        """Whether the last group commit met a passing condition and its writes wait to be retried."""
        ...


class Processes(Protocol):
    """Processes that command stages started, so that a later runner can end those a dead one left."""

    async def process_started(self, p: ProcessRecord) -> None:
        """Record a started process and commit it before returning."""
        ...

    def process_queued(self, p: ProcessRecord) -> None:
        """Queue: a started process's record, for the next group commit (not waited for)."""

    async def output_bytes(self, job_id: JobId) -> int:
        """Return the bytes of command output a job has logged in all its runs (0 for an unknown job)."""
        ...

    def watch_output(self, job_id: JobId, read: Callable[[], int]) -> None:
        """Queue: the bytes of output a job has logged, as `read` returns them when the next commit is taken."""

    def process_ended(self, job_id: JobId, index: int, slot: str, exit_code: int | None, *, keep: bool) -> None:
        """Queue: a process was reaped; keep its row (with the exit code) or drop it."""

    def process_frozen(self, job_id: JobId, index: int, slot: str, frozen: bool) -> None:
        """Queue: a process was stopped (SIGSTOP) or continued."""

    async def processes(self, job_id: JobId, stage_index: int | None = None, *, alive: bool = False) -> list[ProcessRecord]:
        """Return the recorded processes of a job (of one stage; only those not known to have ended)."""
        ...

    async def forget_processes(self, job_id: JobId, records: Iterable[ProcessRecord]) -> None:
        """Mark processes as ended (found gone, or ended by a later runner): only rows not replaced since."""
        ...

    async def held_status(self, job_ids: list[JobId]) -> dict[JobId, tuple[JobStatus, str | None]]:
        """Return (status, lease_owner) of jobs (missing: they no longer exist)."""
        ...


class Notifications(Protocol):
    """The notification outbox, drained by runners."""

    async def claim_notifications(
        self, runner_id: str, limit: int, lease_ms: int, kinds: Sequence[str] = ("url", "cmd")
    ) -> list[Notification]: ...

    async def next_notification_ms(self) -> int | None: ...

    async def database_id(self) -> str:
        """Return the database's identity (random, made once): it makes notification keys unique across databases."""
        ...

    async def notification_sent(self, notification_id: int, runner_id: str, attempts: int) -> None: ...

    async def notification_failed(
        self, notification_id: int, runner_id: str, attempts: int, error: str, retry_at_ms: int | None
    ) -> None: ...

    async def defer_notifications(self, notification_ids: Sequence[int], runner_id: str, next_at_ms: int) -> None: ...


class Schedules(Protocol):
    """Recurring schedules: kept by the client, fired by runners (one firing per occurrence)."""

    async def add_schedule(self, s: Schedule) -> None: ...

    async def schedules(self) -> list[Schedule]: ...

    async def get_schedule(self, name: str) -> Schedule: ...

    async def set_schedule_paused(self, name: str, paused: bool, next_at_ms: int | None = None) -> None: ...

    async def remove_schedule(self, name: str) -> None: ...

    async def schedule_runs(self, name: str, *, limit: int = 50) -> list[ScheduleRun]: ...

    async def next_schedule_ms(self) -> int | None: ...

    async def due_schedules(self, now_ms: int) -> list[Schedule]: ...

    async def fire_schedule(
        self, s: Schedule, *, occurrence_ms: int, missed: int, next_at_ms: int, job: NewJob | None,
        error: str | None, runner_id: str, source: str = "schedule",
    ) -> ScheduleRun | None:
        """Record one occurrence and submit its job in one transaction; None when another runner did it first."""
        ...


class Queues(Protocol):
    """Queues: named limits that every runner's claim applies (store/queues.py)."""

    async def add_queue(self, name: str, limits: QueueLimits) -> Queue: ...

    async def edit_queue(self, name: str, limits: QueueLimits) -> Queue: ...

    async def set_queue_paused(self, name: str, paused: bool) -> Queue: ...

    async def remove_queue(self, name: str) -> None: ...

    async def queues(self) -> list[Queue]: ...

    async def queue(self, name: str) -> Queue: ...

    async def paused_by_queue(self, name: str, marker: str) -> list[JobId]:
        """Return the queue's paused jobs whose last pause request carried `marker`."""
        ...


class LifeNotices(Protocol):
    """The moments of a job told beside its end (`--notify-on`): found by a runner's notifier, queued in the outbox."""

    async def last_job_event(self) -> int: ...

    async def life_events(self, after_id: int, limit: int = 500) -> list[tuple[int, JobId, int, str, str]]: ...

    async def watched_jobs(self, runner_id: str) -> list[Watched]: ...

    async def notify_on(self, job_id: JobId) -> tuple[str, ...]: ...

    async def tell(self, job_id: JobId, event: str, event_at_ms: int) -> int: ...


class Templates(Protocol):
    """Saved job templates."""

    async def save_template(self, t: Template, *, replace: bool = False) -> Template: ...

    async def templates(self) -> list[Template]: ...

    async def get_template(self, name: str) -> Template: ...

    async def remove_template(self, name: str) -> None: ...


class Retention(Protocol):
    """Deleting old finished jobs in small transactions (store/retention.py), and the file's size."""

    async def old_job_ids(self, cutoff_ms: int, *, limit: int = 100,
                          statuses: Collection[JobStatus] | None = None) -> list[JobId]:
        """Return up to `limit` ended jobs (of `statuses` if given) updated before `cutoff_ms` that no unfinished job depends on."""
        ...

    async def purge_rows(self, job_id: JobId, cutoff_ms: int, *, chunk: int = 2_000,
                         statuses: Collection[JobStatus] | None = None) -> int:
        """Delete up to `chunk` items, then log lines, of one such job in one transaction; return how many."""
        ...

    async def delete_old_jobs(self, job_ids: list[JobId], cutoff_ms: int,
                              statuses: Collection[JobStatus] | None = None) -> list[JobId]:
        """Delete those of `job_ids` still old enough (re-checked), in one transaction; return them."""
        ...

    async def db_size(self) -> DbSize:
        """Return the database's size on disk (file and WAL) and what a VACUUM would reclaim."""
        ...

    async def vacuum(self) -> None:
        """Rewrite the database without its free pages (waits for the write lock up to the busy timeout)."""
        ...


class ApiRecords(Protocol):
    """What the HTTP API keeps: tokens (hashed), idempotency keys, the job event log, keyset pages (store/api.py)."""

    async def add_token(self, name: str, scope: str, token_hash: str) -> None:
        """Store a token's hash under a name (UsageError when the name is taken)."""
        ...

    async def tokens(self) -> list[TokenInfo]:
        """Return every token (hash, never the token), by name."""
        ...

    async def token_by_hash(self, token_hash: str) -> TokenInfo | None:
        """Return the token stored with this hash, if any."""
        ...

    async def remove_token(self, name: str) -> None:
        """Delete a token (UsageError when none has this name)."""
        ...

    async def touch_token(self, token_id: int, at_ms: int) -> None:
        """Record a token's last use."""
        ...

    async def add_job_once(
        self, owner: str, key: str | None, fingerprint: str, job: NewJob, *, source: str,
        prepare: Callable[[JobId], Awaitable[None]] | None = None,
    ) -> tuple[JobId, str, bool]:
        """Insert a job unless this owner's key was used; return (job id, stored fingerprint, created now).
        `prepare(job_id)` runs before the commit (a failure stores nothing)."""
        ...

    async def job_events(self, *, after_id: int = 0, limit: int = 1000, job_id: JobId | None = None) -> list[JobEvent]:
        """Return job events after `after_id`, in commit order."""
        ...

    async def event_bounds(self) -> tuple[int, int]:
        """Return (oldest kept event id - 1, newest event id)."""
        ...

    async def prune_events(self, before_ms: int, *, keep: int) -> int:
        """Delete events older than `before_ms` beyond the newest `keep`; return how many."""
        ...

    async def page_jobs(
        self, *, after_id: int = 0, limit: int = 100, statuses: Iterable[str] | None = None,
        types: Iterable[str] | None = None, unique_key: str | None = None, stage: str | None = None,
        since_ms: int | None = None, until_ms: int | None = None, before_id: int | None = None,
        newest_first: bool = False, labels: Iterable[tuple[str, str | None]] = (), queue: str | None = None,
    ) -> list[Job]:
        """Return up to `limit` jobs after `after_id` (and before `before_id`) in id order (or newest first), filtered."""
        ...

    async def jobs_by_ids(self, job_ids: Iterable[JobId]) -> dict[JobId, Job]:
        """Return the jobs with these ids that exist."""
        ...

    async def oldest_queued_ms(self) -> int | None:
        """Return when the oldest queued job was created (None when none is queued)."""
        ...


class JobStore(JobReads, JobControl, RunnerLeases, RunnerWrites, Processes, Notifications, Schedules, Retention,
               ApiRecords, Queues, Templates, LifeNotices, Protocol):
    """A store of any backend: the whole contract, with its identity, lifetime and shared knobs."""

    clock: Callable[[], int]
    """Epoch ms of the store's clock, for times the engine computes (retry delays); leases use it too."""
    fence: str | None
    """A runner id: while set, a group commit writes for a job only while that runner holds it."""
    on_dropped: Callable[[set[JobId], StopKind, str], None] | None
    """Told the jobs whose queued writes were dropped, why (LOST: another runner holds them; STORE: the database
    refused them for good, only theirs) and the database's error."""
    on_wake: Callable[[], None] | None
    """Told when another process submits or steers jobs (PostgreSQL's LISTEN; SQLite never calls it)."""
    notify_defaults: tuple[tuple[str, str], ...]
    """Where every job's ends are told besides its own targets (the runner's defaults)."""
    commits: int
    """Group commits made (benchmarks)."""

    @property
    def location(self) -> str:
        """Where the data is, fit to show (a file path; never a password)."""
        ...

    @property
    def workspace_root(self) -> Path:
        """The folder that holds the jobs' workspaces (an option; SQLite's default is beside the file)."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether a StoreError (or its cause) is a passing condition (busy, locked, full, server gone)."""
        ...

    async def reopen(self) -> JobStore:
        """Open one more store (its own connection) on the same database, with the same options."""
        ...

    async def integrity_check(self) -> str:
        """Return 'ok' when the database is sound, else what is wrong."""
        ...

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Commit what is queued (within `timeout_s`) and close."""
        ...
