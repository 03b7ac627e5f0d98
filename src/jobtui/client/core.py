"""ClientCore: the facade's reads, submissions and requests, on one open store and one registry of job types."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, Unpack

from ..apimodel import same_hash
from ..builtins import default_registry
from ..engine.definition import JobType, Registry
from ..engine.options import workspace_root_for
from ..engine.retention import purge_old_jobs
from ..engine.runner import Runner
from ..errors import IdempotencyKeyReusedError, InvalidTransitionError, SubmitError, UsageError
from ..fleet import check_tags
from ..keywords import check_keywords
from ..labels import labels_of
from ..listing import JobMatch
from ..model import (
    ACTION_FROM,
    Action,
    AttemptRecord,
    ItemRecord,
    Job,
    JobDetail,
    JobId,
    JobRef,
    JobStatus,
    LogLine,
    RequestRecord,
    StageRun,
    Stats,
    check_queue_name,
)
from ..notify_on import check_notify_on
from ..store import ControlResult, JobStore, NewJob, open_store
from ..store.values import DbSize
from ..targets import defaults_from_env


def default_db_path() -> Path:
    """Return the database path: $JOBTUI_DB, else jobtui.db in the platform's user-data folder."""
    env = os.environ.get("JOBTUI_DB")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only without --db or $JOBTUI_DB (start-up, issue 18)

    return platformdirs.user_data_path("jobtui", appauthor=False) / "jobtui.db"


@dataclass(frozen=True, slots=True)
class Submission:
    """One job to submit, as a person gave it (params not yet validated)."""

    type: str
    params: Mapping[str, Any]
    priority: int = 0
    run_at_ms: int | None = None
    unique_key: str | None = None
    max_retries: int | None = None
    after: tuple[JobId, ...] = ()
    """Jobs that must complete before this one starts."""
    notify: tuple[tuple[str, str], ...] = ()
    """Where its ends are told: (kind, target), kind 'url' or 'cmd' (checked by `jobtui.targets`)."""
    timeout_ms: int | None = None
    """A limit for each run of the whole job; None: the job type's."""
    needs: tuple[str, ...] = ()
    """Tags a runner must have to run it (`--needs gpu`; checked by `jobtui.fleet.check_tags`)."""
    labels: tuple[tuple[str, str], ...] | Mapping[str, str] = ()
    """Its labels: (key, value) pairs or a mapping (`--label project=42`; checked by `jobtui.labels`)."""
    notify_on: tuple[str, ...] = ()
    """The moments its `notify` targets are told of (`--notify-on`, jobtui/notify_on.py); (): its ends."""
    queue: str | None = None
    """The queue it runs under (`--queue`); None: its type's default queue, if any."""


class ClientCore:
    """Read jobs and send requests; with a runner in this process (`runner`), requests take effect at once."""

    def __init__(self, store: JobStore, registry: Registry, runner: Runner | None = None, *, source: str = "cli") -> None:
        self.store = store
        self.registry = registry
        self.runner = runner
        self.source = source
        self._runner_store: JobStore | None = None
        self.target: str = store.location
        """The database as given (a path, or a URL with its password): to hand to another process, never to show."""

    @classmethod
    async def open(
        cls, db: str | Path | None = None, *, apps: Iterable[str] = (), source: str = "cli", registry: Registry | None = None,
        create: bool = True, workspace_root: str | Path | None = None, readonly: bool = False,
    ) -> Self:
        """Open the database (default: `default_db_path()`) with the built-in and app job types.

        Without `create`, a missing database is an error (NoDatabaseError) instead of a new one:
        commands that only read never leave a database behind. `workspace_root` is the folder of the
        jobs' workspaces (default: `$JOBTUI_WORKSPACES`, else `<db>.workspaces` beside a database file).
        `readonly`: open an existing SQLite database read-only (nothing written, no migration).
        """
        options: dict[str, Any] = {"create": create and not readonly, "readonly": readonly}
        if workspace_root is not None:
            if not str(workspace_root).strip():
                raise UsageError("--workspace-root is empty")
            options["workspace_root"] = workspace_root
        registry = registry or default_registry(apps)
        # $JOBTUI_DB is passed on as text: a URL in it must reach open_store whole (a Path folds "//").
        target: str | Path = db if db is not None else (os.environ.get("JOBTUI_DB") or default_db_path())
        store = await open_store(target, **options)
        try:
            # A cancel sent from here (of a job no runner holds) tells the runner-wide defaults too.
            store.notify_defaults = defaults_from_env()
        except UsageError:
            pass  # a bad $JOBTUI_NOTIFY_URL is reported by `jobtui run`, not by every command
        client = cls(store, registry, source=source)
        client.target = str(target)
        return client

    async def close(self) -> None:
        """Close the database (and the embedded runner's connection, if any)."""
        try:
            if self._runner_store is not None:
                await self._runner_store.close()
        finally:
            await self.store.close()

    @staticmethod
    def remove_database(path: Path) -> None:
        """Delete a database file with its WAL, shared memory and job workspaces (nothing else)."""
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.rmtree(workspace_root_for(path), ignore_errors=True)

    @property
    def db_path(self) -> Path:
        """Return the database file's path (the store's location; a SQLite file's)."""
        return Path(self.store.location)

    @property
    def location(self) -> str:
        """Return where the data is, fit to show: a file path, or a URL with its password blanked."""
        return self.store.location

    @property
    def is_file_db(self) -> bool:
        """Tell whether the database is a file on this host (SQLite), not a server's (PostgreSQL)."""
        return "://" not in self.store.location

    @staticmethod
    def known_types(apps: Iterable[str] = ()) -> list[JobType]:
        """Return the built-in and app job types, without opening a database."""
        return list(default_registry(apps))

    def types(self) -> list[JobType]:
        """Return the job types this process knows, by name."""
        return list(self.registry)

    def default_type(self) -> str | None:
        """Return the type a new job most likely has: the first of the app modules, else the first by name."""
        if self.registry.app_types:
            return self.registry.app_types[0]
        # Types whose stages come from their params (command, pipeline, foreach) have their own forms.
        names = [n for n in self.registry.names if self.registry.get(n).stages_from is None] or self.registry.names
        return names[0] if names else None

    @property
    def type_names(self) -> list[str]:
        """Return the names of the job types this process knows, sorted."""
        return self.registry.names

    def job_type(self, name: str) -> JobType:
        """Return one job type (UnknownJobTypeError when none has this name)."""
        return self.registry.get(name)

    async def list_jobs(
        self, *, limit: int | None = None, updated_after_ms: int | None = None, newest_first: bool = False,
        **match: Unpack[JobMatch],
    ) -> list[Job]:
        """Return jobs, filtered by `match` (`statuses`, `types`, `unique_key`, `stage`: the name of the stage a job
        is at, `labels`: (key, value) each job has, a None value meaning any value of that key, `queue`)."""
        check_keywords(match, JobMatch, "list_jobs")
        return await self.store.list_jobs(limit=limit, updated_after_ms=updated_after_ms, newest_first=newest_first,
                                          **match)

    def iter_jobs(
        self, *, statuses: Iterable[str] | None = None, types: Iterable[str] | None = None, newest: int | None = None
    ) -> AsyncIterator[Job]:
        """Yield jobs oldest first (only the `newest` N when given), a page at a time: bounded memory."""
        return self.store.iter_jobs(statuses=statuses, types=types, newest=newest)

    async def job(self, job_id: JobId) -> Job:
        """Return one job."""
        return await self.store.get_job(job_id)

    async def detail(self, job_id: JobId) -> JobDetail:
        """Return one job with its stages and counters."""
        return await self.store.get_detail(job_id)

    async def stage_outputs(self, job_id: JobId) -> list[StageRun]:
        """Return the stages of a job that have an output (their return value), in order.

        The output is as stored: redact it (`jobtui.redaction.redact` with `Secrets.of(job.params)`)
        before showing it.
        """
        detail = await self.store.get_detail(job_id)
        return [s for s in detail.stages if s.output is not None]

    async def attempt_errors(self, job_id: JobId) -> list[AttemptRecord]:
        """Return each failed attempt of a job's stages (stage, run, when, error, transient)."""
        return await self.store.attempt_errors(job_id)

    async def history(self, job_id: JobId) -> list[RequestRecord]:
        """Return the requests and recoveries that changed a job (pause, resume, cancel, fail...): who and when."""
        return await self.store.requests(job_id)

    async def logs(self, job_id: JobId, *, after_id: int = 0, limit: int = 1000, tail: bool = False) -> list[LogLine]:
        """Return a job's log lines after `after_id` (with `tail`, the last `limit`)."""
        return await self.store.logs(job_id, after_id=after_id, limit=limit, tail=tail)

    async def waiting_on(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[JobRef, ...]]:
        """Return, for each job that has any, the dependencies that have not completed."""
        return await self.store.waiting_on(job_ids)

    async def depend(self, job_id: JobId, after: Iterable[JobId]) -> JobStatus:
        """Make a job that has not started wait for more jobs; return its status after."""
        status = await self.store.add_dependencies(job_id, list(after), source=self.source)
        self._wake()
        return status

    async def all_logs(self, *, after_id: int = 0, limit: int = 1000, tail: bool = False) -> list[LogLine]:
        """Return every job's log lines after `after_id`, in order (with `tail`, the last `limit`)."""
        return await self.store.all_logs(after_id=after_id, limit=limit, tail=tail)

    async def last_log_id(self) -> int:
        """Return the id of the newest log line of any job (0 when none)."""
        lines = await self.store.all_logs(limit=1, tail=True)
        return lines[-1].log_id if lines else 0

    async def stats(self) -> Stats:
        """Return counts by status and type, and the live runners."""
        return await self.store.stats()

    async def job_ids_signature(self) -> tuple[int, int, int]:
        """Return (count, max id, sum of ids) of every job: a cheap way to notice a deletion by another process."""
        return await self.store.job_ids_signature()

    async def job_ids(self) -> set[JobId]:
        """Return every job id."""
        return await self.store.job_ids()

    def export(self, job_id: JobId) -> AsyncIterator[ItemRecord]:
        """Yield a job's stored item outcomes (also the partial ones of a stopped job)."""
        return self.store.items(job_id)

    async def submit(self, type: str, params: Mapping[str, Any] | None = None, **options: Any) -> JobId:
        """Validate and queue one job; return its id."""
        return (await self.submit_many([Submission(type, params or {}, **options)]))[0]

    async def submit_many(self, subs: Iterable[Submission]) -> list[JobId]:
        """Validate every submission first, then queue them all in one transaction.

        Raises:
            UsageError: an unknown type, a bad param, or a unique key in use (nothing is stored).
        """
        new: list[NewJob] = []
        for i, sub in enumerate(subs):
            try:
                new.append(self._new_job(sub))
            except UsageError as e:
                if i:
                    raise SubmitError(i, e) from e
                raise
        ids = await self.store.add_jobs(new, source=self.source)
        self._wake()
        return ids

    def _new_job(self, sub: Submission) -> NewJob:
        """Return a submission validated and ready to store (UsageError for an unknown type, a bad param, tag)."""
        jt = self.registry.get(sub.type)
        params = jt.validate(sub.params)
        stages = jt.stages_for(params)
        needs = check_tags(sub.needs, "--needs")
        labels = labels_of(dict(sub.labels), "--label")
        queue = sub.queue if sub.queue is not None else jt.queue
        return NewJob(
            jt.name, params, tuple(s.name for s in stages), tuple(s.retry.attempts for s in stages), sub.priority,
            sub.unique_key, sub.run_at_ms, jt.max_retries if sub.max_retries is None else sub.max_retries,
            tuple(sub.after), tuple(sub.notify), timeout_ms=sub.timeout_ms, needs=needs, labels=labels,
            notify_on=check_notify_on(sub.notify_on, bool(sub.notify)),
            queue=None if queue is None else check_queue_name(queue),
        )

    async def submit_once(
        self, owner: str, key: str | None, fingerprint: str, sub: Submission,
        prepare: Callable[[JobId], Awaitable[None]] | None = None,
    ) -> tuple[JobId, bool]:
        """Queue a job unless `owner` submitted one with this idempotency key; return (its id, created now).

        The key is stored with the job in one transaction, so it holds across restarts and servers.
        `prepare(job_id)` runs before that transaction commits, so no runner starts the job before it
        returns (an upload puts its files in the job's workspace there); if it raises, nothing is stored.

        Raises:
            IdempotencyKeyReusedError: the key was used for a different request (`fingerprint` differs).
            UsageError: as `submit` (nothing stored).
        """
        job_id, stored, created = await self.store.add_job_once(owner, key, fingerprint, self._new_job(sub),
                                                                source=self.source, prepare=prepare)
        if not same_hash(stored, fingerprint):
            raise IdempotencyKeyReusedError(key or "", job_id)
        if created:
            self._wake()
        return job_id, created

    def _wake(self) -> None:
        if self.runner is not None:
            self.runner.wake()

    async def check(self, job_ids: Iterable[JobId], action: Action) -> list[Job]:
        """Return the jobs, or raise for the first that does not exist or to which `action` does not apply."""
        jobs = []
        for job_id in job_ids:
            job = await self.store.get_job(job_id)
            if job.status not in ACTION_FROM[action]:
                raise InvalidTransitionError(job_id, job.status.value, action.value)
            jobs.append(job)
        return jobs

    async def control(
        self, job_id: JobId, action: Action, *, to_stage: str | None = None, reason: str | None = None
    ) -> ControlResult:
        """Send one request (pause, resume, cancel, retry, rewind, delete, fail) to a job."""
        index: int | None = None
        if action is Action.REWIND:
            job = await self.store.get_job(job_id)
            if to_stage is None:
                raise UsageError("rewind needs a stage (--to STAGE)")
            if job.type in self.registry:
                index = self.registry.get(job.type).stage_index_for(job.params, to_stage)
            elif to_stage in job.stage_names:
                index = job.stage_names.index(to_stage)
            else:
                raise UsageError(f"job {job_id} has no stage {to_stage!r} (stages: {', '.join(job.stage_names)})")
        result = await self.store.control(job_id, action, source=self.source, to_stage=index, reason=reason)
        if action is Action.DELETE:
            # Off the event loop: a big workspace takes a while to delete, and the TUI must not freeze.
            await asyncio.to_thread(shutil.rmtree, self.store.workspace_root / str(job_id), True)
        self._wake()
        return result

    async def fail(self, job_id: JobId, reason: str) -> ControlResult:
        """Force a job to fail with `reason` (an admin's act): a running one is stopped at once."""
        return await self.control(job_id, Action.FAIL, reason=reason)

    async def pause(self, job_id: JobId) -> ControlResult:
        """Pause a job (a running one stops at its next safe point)."""
        return await self.control(job_id, Action.PAUSE)

    async def resume(self, job_id: JobId) -> ControlResult:
        """Resume a paused, failed or cancelled job from its last checkpoint."""
        return await self.control(job_id, Action.RESUME)

    async def cancel(self, job_id: JobId) -> ControlResult:
        """Cancel a job (a running one is interrupted; its checkpoints are kept)."""
        return await self.control(job_id, Action.CANCEL)

    async def retry(self, job_id: JobId) -> ControlResult:
        """Run a failed job again now (or the failed items of a completed one)."""
        return await self.control(job_id, Action.RETRY)

    async def rewind(self, job_id: JobId, stage: str) -> ControlResult:
        """Run a job again from `stage` (its items and later stages are redone)."""
        return await self.control(job_id, Action.REWIND, to_stage=stage)

    async def delete(self, job_id: JobId) -> ControlResult:
        """Delete a job that no runner holds, with its items, logs and workspace."""
        return await self.control(job_id, Action.DELETE)

    async def clean(self, older_than_ms: int, statuses: Iterable[str]) -> list[JobId]:
        """Delete jobs in `statuses` not updated for `older_than_ms`; return their ids."""
        wanted = [JobStatus(s) for s in statuses]
        for s in wanted:
            if s not in ACTION_FROM[Action.DELETE]:
                raise UsageError(f"clean cannot delete {s.value} jobs (a runner holds them)")
        # The runner's batched retention path: items and logs in chunks, jobs a batch per transaction.
        ids = await purge_old_jobs(self.store, older_than_ms, self.store.workspace_root, statuses=frozenset(wanted))
        return sorted(ids)

    # ------------------------------------------------------------------------------------- database
    @property
    def workspace_root(self) -> Path:
        """Return the folder of the jobs' workspaces."""
        return self.store.workspace_root

    def workspace(self, job_id: JobId) -> Path:
        """Return the folder of a job's files (it may not exist yet)."""
        return self.store.workspace_root / str(job_id)

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether a StoreError is a passing condition (busy, locked, full, server gone): worth a retry later."""
        return self.store.is_transient(exc)

    def now_ms(self) -> int:
        """Return the store's clock (epoch ms)."""
        return self.store.clock()

    async def job_labels(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[tuple[str, str], ...]]:
        """Return the labels of each job (`--label`); jobs without labels are left out."""
        return await self.store.job_labels(job_ids)

    async def job_needs(self, job_ids: Iterable[JobId]) -> dict[JobId, tuple[str, ...]]:
        """Return the tags each job needs of a runner (`submit --needs`); jobs without needs are left out."""
        return await self.store.job_needs(job_ids)

    async def db_size(self) -> DbSize:
        """Return the database's size on disk (file and WAL) and what a VACUUM would reclaim."""
        return await self.store.db_size()

    async def vacuum(self) -> None:
        """Rewrite the database without its free pages (waits for the write lock up to the busy timeout)."""
        await self.store.vacuum()
