"""Store: the one place that holds SQL. One aiosqlite connection per Store, WAL, group commit.

Writes from the engine (stage ends, item results, progress, logs) are queued with `_submit` and
committed together by one writer task: many concurrent jobs share one transaction and one fsync.
A caller that needs durability awaits `commit_point()`, which returns once everything it queued
so far is committed. Control requests, claims and recovery run in their own `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from ..errors import (
    InvalidTransitionError,
    LeaseLostError,
    JobNotFoundError,
    SchemaVersionError,
    StoreError,
    UsageError,
)
from ..model import (
    ACTION_FROM,
    ACTIVE,
    TERMINAL,
    Action,
    ItemRecord,
    ItemStatus,
    Job,
    JobDetail,
    JobId,
    JobStatus,
    LogLine,
    RunnerInfo,
    StageRun,
    StageStatus,
    Stats,
    now_ms,
)
from .schema import MIGRATIONS

# Ranks order the statements of one group commit: a job's un-awaited writes must be rank-increasing.
R_STAGE_START = 10
R_STAGE_STATE = 20
R_ITEM = 30
R_STAGE_COUNTERS = 35
R_STAGE_END = 40
R_ATTEMPT = 45
R_JOB_END = 50
R_PROGRESS = 60
R_LOG = 70
R_LOG_TRIM = 75

JOB_COLS = (
    "job_id, type, status, params, priority, unique_key, stage_names, current_step_index, progress_done,"
    " progress_total, progress_message, failed_step, error_message, pause_reason, retry_count, max_retries,"
    " next_retry_at_ms, resume_count, recovery_count, consecutive_failures, run_at_ms, created_at_ms,"
    " started_at_ms, updated_at_ms, paused_at_ms, completed_at_ms, cancelled_at_ms, lease_owner, items_done,"
    " items_failed"
)
STAGE_COLS = (
    "stage_index, name, status, attempts, max_attempts, started_at_ms, finished_at_ms, error, items_total,"
    " items_done, items_failed, checkpoint_at_ms, next_attempt_at_ms"
)
_ACTIVE_SQL = "('running', 'pausing', 'cancelling')"
_TERMINAL_SQL = "('completed', 'cancelled', 'failed')"


def dumps(value: Any) -> str:
    """Encode a value for a JSON column."""
    return json.dumps(value, separators=(",", ":"), default=str)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _job(row: Sequence[Any]) -> Job:
    return Job(
        row[0], row[1], JobStatus(row[2]), json.loads(row[3]), row[4], row[5], tuple(json.loads(row[6])),
        *row[7:],
    )


def _stage(row: Sequence[Any]) -> StageRun:
    return StageRun(row[0], row[1], StageStatus(row[2]), *row[3:])


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


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job a runner has just claimed, with its stage records."""

    job: Job
    stages: tuple[StageRecord, ...]


@dataclass(frozen=True, slots=True)
class ControlResult:
    """The outcome of one control request."""

    job_id: JobId
    action: Action
    before: JobStatus
    after: JobStatus | None
    """None when the job was deleted."""


class _Batch:
    """Statements queued for the next group commit, by rank then SQL."""

    __slots__ = ("ops", "keyed", "waiters", "size")

    def __init__(self) -> None:
        self.ops: dict[int, dict[str, list[Sequence[Any]]]] = {}
        self.keyed: dict[int, dict[str, dict[Any, Sequence[Any]]]] = {}
        self.waiters: list[asyncio.Future[None]] = []
        self.size = 0


def prepare_path(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) so that both are private to the user."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _explain(exc: BaseException, path: Path) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a jobtui database or corrupt ({text})"
    if "locked" in text or "busy" in text:
        return f"{path}: database is locked by another process ({text})"
    if "readonly" in text or "unable to open" in text:
        return f"{path}: cannot open database ({text})"
    return f"{path}: {text}"


class Store:
    """All reads and writes of one SQLite database file."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, clock: Callable[[], int] = now_ms) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock
        self._lock = asyncio.Lock()
        self._batch = _Batch()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._flushing = False
        self.fence: str | None = None
        """A runner id: while set, a group commit applies only if that runner still holds its lease."""
        self.commits = 0
        """Group commits made, for benchmarks."""

    # ----------------------------------------------------------------------------------- open/close
    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> Store:
        """Open (creating and migrating if needed) the database at `path`.

        Raises:
            StoreError: the file is not a database, is corrupt, locked or unreadable.
            SchemaVersionError: the file was written by a newer jobtui.
        """
        path = Path(path).expanduser().absolute()
        if busy_timeout_ms is None:
            env = os.environ.get("JOBTUI_BUSY_TIMEOUT_MS", "10000")
            busy_timeout_ms = int(env) if env.isdigit() else 10_000
        try:
            prepare_path(path)
        except OSError as e:
            raise StoreError(f"{path}: cannot create database ({e.strerror or e})") from e
        try:
            conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as e:
            raise StoreError(_explain(e, path)) from e
        store = cls(conn, path, clock)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cur = await conn.execute("PRAGMA journal_mode = WAL")
            row = await cur.fetchone()
            if row is None or str(row[0]).lower() != "wal":
                raise StoreError(f"{path}: cannot switch the database to WAL mode")
            if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise UsageError(f"bad synchronous mode {synchronous!r}")
            await conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA temp_store = MEMORY")
            await store._migrate()
        except BaseException as e:
            await conn.close()
            if isinstance(e, sqlite3.Error):
                raise StoreError(_explain(e, path)) from e
            raise
        return store

    async def _migrate(self) -> None:
        cur = await self._conn.execute("PRAGMA user_version")
        row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise SchemaVersionError(
                f"{self.path}: database schema v{version} is newer than this jobtui (v{len(MIGRATIONS)}); upgrade jobtui"
            )
        if version == len(MIGRATIONS):
            return
        async with self._tx() as db:
            cur = await db.execute("PRAGMA user_version")
            row = await cur.fetchone()
            version = int(row[0]) if row else 0
            for script in MIGRATIONS[version:]:
                for statement in script.split(";"):
                    if statement.strip():
                        await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    async def close(self) -> None:
        """Commit what is queued, stop the writer and close the connection."""
        if self._closed:
            return
        try:
            if self._batch.size:
                await self.commit_point()
        except StoreError:
            pass
        finally:
            self._closed = True
            if self._writer is not None:
                self._writer.cancel()
                try:
                    await self._writer
                except asyncio.CancelledError:
                    pass
            await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------ plumbing
    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a block in one `BEGIN IMMEDIATE` transaction, serialised with the group commit."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise StoreError(_explain(e, self.path)) from e
            try:
                yield self._conn
            except BaseException as e:
                try:
                    await self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(e, sqlite3.Error):
                    raise StoreError(_explain(e, self.path)) from e
                raise
            else:
                try:
                    await self._conn.execute("COMMIT")
                except sqlite3.Error as e:
                    try:
                        await self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                    raise StoreError(_explain(e, self.path)) from e

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.Error as e:
            raise StoreError(_explain(e, self.path)) from e

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    def _submit(self, rank: int, sql: str, params: Sequence[Any], key: Any = None) -> None:
        """Queue one statement for the next group commit; with `key`, a later one replaces it."""
        if self._closed:
            raise StoreError("store is closed")
        batch = self._batch
        if key is None:
            batch.ops.setdefault(rank, {}).setdefault(sql, []).append(params)
        else:
            batch.keyed.setdefault(rank, {}).setdefault(sql, {})[key] = params
        batch.size += 1
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="jobtui-store-writer")
        self._wake.set()

    @property
    def pending(self) -> int:
        """Return how many statements wait for the next group commit."""
        return self._batch.size

    async def commit_point(self) -> None:
        """Return once everything queued so far is committed.

        Raises:
            StoreError: the group commit that held these writes failed.
        """
        if self._batch.size == 0 and not self._flushing:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batch.waiters.append(fut)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="jobtui-store-writer")
        self._wake.set()
        await fut

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            async with self._lock:
                if self._batch.size == 0:
                    batch, self._batch = self._batch, _Batch()
                    for w in batch.waiters:
                        if not w.done():
                            w.set_result(None)
                    continue
                self._flushing = True
                error: StoreError | None = None
                try:
                    await self._conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as e:
                    # Nothing was taken: the statements stay queued for the next try; waiters hear now.
                    waiters, self._batch.waiters = self._batch.waiters, []
                    self._flushing = False
                    err = StoreError(_explain(e, self.path))
                    for w in waiters:
                        if not w.done():
                            w.set_exception(err)
                    await asyncio.sleep(0.05)
                    self._wake.set()
                    continue
                # Take the batch only now: what arrived while BEGIN waited joins this commit.
                batch, self._batch = self._batch, _Batch()
                try:
                    if self.fence is not None:
                        cur = await self._conn.execute("SELECT 1 FROM runners WHERE runner_id = ?", (self.fence,))
                        if await cur.fetchone() is None:
                            # Another runner took us for dead and owns our jobs now: write nothing.
                            raise LeaseLostError(f"runner {self.fence} lost its lease; its writes were dropped")
                    for rank in sorted(set(batch.ops) | set(batch.keyed)):
                        for sql, rows in batch.ops.get(rank, {}).items():
                            await self._conn.executemany(sql, rows)
                        for sql, keyed in batch.keyed.get(rank, {}).items():
                            await self._conn.executemany(sql, list(keyed.values()))
                    await self._conn.execute("COMMIT")
                    self.commits += 1
                except (sqlite3.Error, LeaseLostError) as e:
                    error = e if isinstance(e, LeaseLostError) else StoreError(_explain(e, self.path))
                    error.__cause__ = e if error is not e else None
                    try:
                        await self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
            self._flushing = False
            for w in batch.waiters:
                if w.done():
                    continue
                if error is None:
                    w.set_result(None)
                else:
                    w.set_exception(error)

    # --------------------------------------------------------------------------------- submission
    async def add_jobs(self, jobs: Sequence[NewJob], *, source: str = "cli") -> list[JobId]:
        """Insert jobs (queued) with their pending stages; return their ids in order.

        Raises:
            UsageError: a unique key already has an active job, or repeats within `jobs`.
        """
        if not jobs:
            return []
        now = self.clock()
        keys = [j.unique_key for j in jobs if j.unique_key is not None]
        if len(keys) != len(set(keys)):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise UsageError(f"unique key {dup!r} is given to more than one new job")
        async with self._tx() as db:
            if keys:
                rows = await db.execute_fetchall(
                    f"SELECT unique_key, job_id FROM jobs WHERE status NOT IN {_TERMINAL_SQL}"
                    " AND unique_key IN (SELECT value FROM json_each(?))",
                    (dumps(keys),),
                )
                for key, job_id in rows:
                    raise UsageError(f"unique key {key!r} already has active job {job_id}")
            cur = await db.execute("SELECT coalesce(max(job_id), 0) FROM jobs")
            row = await cur.fetchone()
            seq = await db.execute_fetchall("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'")
            first = max(int(row[0]) if row else 0, int(seq[0][0]) if seq else 0) + 1
            ids = list(range(first, first + len(jobs)))
            await db.executemany(
                "INSERT INTO jobs (job_id, type, status, params, priority, unique_key, stage_names, run_at_ms,"
                " max_retries, created_at_ms, updated_at_ms) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (jid, j.type, dumps(j.params), j.priority, j.unique_key, dumps(list(j.stage_names)),
                     j.run_at_ms, j.max_retries, now, now)
                    for jid, j in zip(ids, jobs)
                ],
            )
            await db.executemany(
                "INSERT INTO stages (job_id, stage_index, name, max_attempts) VALUES (?, ?, ?, ?)",
                [
                    (jid, i, name, j.max_attempts[i] if i < len(j.max_attempts) else 1)
                    for jid, j in zip(ids, jobs)
                    for i, name in enumerate(j.stage_names)
                ],
            )
            await db.executemany(
                "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, source)"
                " VALUES (?, ?, 'submit', '', 'queued', ?)",
                [(jid, now, source) for jid in ids],
            )
        return ids

    # -------------------------------------------------------------------------------------- reads
    async def get_job(self, job_id: JobId) -> Job:
        """Return one job.

        Raises:
            JobNotFoundError: no job has this id.
        """
        row = await self._one(f"SELECT {JOB_COLS} FROM jobs WHERE job_id = ?", (job_id,))
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)

    async def get_detail(self, job_id: JobId) -> JobDetail:
        """Return one job with its stages and counters."""
        job = await self.get_job(job_id)
        rows = await self._all(
            f"SELECT {STAGE_COLS} FROM stages WHERE job_id = ? ORDER BY stage_index", (job_id,)
        )
        res = await self._one("SELECT count(*) FROM items WHERE job_id = ? AND status = 'done'", (job_id,))
        return JobDetail(job, tuple(_stage(r) for r in rows), int(res[0]) if res else 0)

    async def list_jobs(
        self,
        *,
        statuses: Iterable[str] | None = None,
        types: Iterable[str] | None = None,
        limit: int | None = None,
        updated_after_ms: int | None = None,
        newest_first: bool = False,
    ) -> list[Job]:
        """Return jobs, oldest first unless `newest_first`, filtered by status, type and change time."""
        where: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            where.append("status IN (SELECT value FROM json_each(?))")
            params.append(dumps([str(s) for s in statuses]))
        if types is not None:
            where.append("type IN (SELECT value FROM json_each(?))")
            params.append(dumps(list(types)))
        if updated_after_ms is not None:
            where.append("updated_at_ms > ?")
            params.append(updated_after_ms)
        sql = f"SELECT {JOB_COLS} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY job_id DESC" if newest_first else " ORDER BY job_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_job(r) for r in await self._all(sql, params)]

    async def job_ids(self) -> set[JobId]:
        """Return the ids of every job."""
        return {r[0] for r in await self._all("SELECT job_id FROM jobs")}

    async def max_updated_ms(self) -> int:
        """Return the newest `updated_at_ms` of any job (0 when empty)."""
        row = await self._one("SELECT coalesce(max(updated_at_ms), 0), count(*) FROM jobs")
        return int(row[0]) if row else 0

    async def stats(self, *, runner_ttl_ms: int = 30_000) -> Stats:
        """Return counts by status and type, item totals and live runners."""
        by_status = {r[0]: r[1] for r in await self._all("SELECT status, count(*) FROM jobs GROUP BY status")}
        by_type = {r[0]: r[1] for r in await self._all("SELECT type, count(*) FROM jobs GROUP BY type")}
        items = await self._one("SELECT coalesce(sum(items_done), 0), coalesce(sum(items_failed), 0) FROM jobs")
        now = self.clock()
        runners = tuple(r for r in await self.runners() if r.alive(now, runner_ttl_ms))
        return Stats(by_status, by_type, runners, int(items[0]), int(items[1]))

    async def logs(
        self, job_id: JobId, *, after_id: int = 0, limit: int = 1000, tail: bool = False
    ) -> list[LogLine]:
        """Return log lines of a job after `after_id`; with `tail`, the last `limit` of them."""
        if tail:
            rows = await self._all(
                "SELECT log_id, job_id, ts_ms, level, message FROM logs WHERE job_id = ? AND log_id > ?"
                " ORDER BY log_id DESC LIMIT ?",
                (job_id, after_id, limit),
            )
            rows.reverse()
        else:
            rows = await self._all(
                "SELECT log_id, job_id, ts_ms, level, message FROM logs WHERE job_id = ? AND log_id > ?"
                " ORDER BY log_id LIMIT ?",
                (job_id, after_id, limit),
            )
        return [LogLine(*r) for r in rows]

    async def items(self, job_id: JobId, *, chunk: int = 5000) -> AsyncIterator[ItemRecord]:
        """Yield every stored item outcome of a job, by stage then key."""
        names = {r[0]: r[1] for r in await self._all(
            "SELECT stage_index, name FROM stages WHERE job_id = ?", (job_id,))}
        last: tuple[int, str] = (-1, "")
        while True:
            rows = await self._all(
                "SELECT stage_index, key, status, result, error, attempts, updated_at_ms FROM items"
                " WHERE job_id = ? AND (stage_index, key) > (?, ?) ORDER BY stage_index, key LIMIT ?",
                (job_id, last[0], last[1], chunk),
            )
            for r in rows:
                yield ItemRecord(r[0], names.get(r[0], str(r[0])), r[1], ItemStatus(r[2]), _loads(r[3]), r[4],
                                 r[5], r[6])
            if len(rows) < chunk:
                return
            last = (rows[-1][0], rows[-1][1])

    async def item_results(self, job_id: JobId, stage_index: int) -> dict[str, Any]:
        """Return the results of the done items of one stage, by key."""
        rows = await self._all(
            "SELECT key, result FROM items WHERE job_id = ? AND stage_index = ? AND status = 'done' ORDER BY key",
            (job_id, stage_index),
        )
        return {r[0]: _loads(r[1]) for r in rows}

    async def attempt_errors(self, job_id: JobId) -> list[tuple[int, int, int, str, bool]]:
        """Return (stage_index, attempt, failed_at_ms, error, transient) for every failed attempt."""
        rows = await self._all(
            "SELECT stage_index, attempt, failed_at_ms, error, transient FROM attempts WHERE job_id = ?"
            " ORDER BY stage_index, attempt",
            (job_id,),
        )
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    async def requests(self, job_id: JobId) -> list[tuple[int, str, str, str, str]]:
        """Return the audit trail of a job: (ts_ms, action, from, to, source)."""
        rows = await self._all(
            "SELECT ts_ms, action, from_status, to_status, source FROM requests WHERE job_id = ? ORDER BY request_id",
            (job_id,),
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    async def runners(self) -> list[RunnerInfo]:
        """Return every registered runner."""
        rows = await self._all(
            "SELECT runner_id, pid, hostname, started_at_ms, heartbeat_at_ms, concurrency FROM runners"
        )
        return [RunnerInfo(*r) for r in rows]

    async def integrity_check(self) -> str:
        """Return the result of `PRAGMA integrity_check` ('ok' when sound)."""
        row = await self._one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    async def job_ids_older_than(self, cutoff_ms: int, statuses: Iterable[str]) -> list[JobId]:
        """Return ids of jobs in `statuses` last updated before `cutoff_ms`."""
        rows = await self._all(
            "SELECT job_id FROM jobs WHERE updated_at_ms < ? AND status IN (SELECT value FROM json_each(?))"
            " ORDER BY job_id",
            (cutoff_ms, dumps(list(statuses))),
        )
        return [r[0] for r in rows]

    # ------------------------------------------------------------------------------- control path
    async def control(
        self, job_id: JobId, action: Action, *, source: str = "cli", to_stage: int | None = None
    ) -> ControlResult:
        """Apply a person's request to a job in one transaction.

        Raises:
            JobNotFoundError: no job has this id.
            InvalidTransitionError: the action does not apply to the job's state.
        """
        now = self.clock()
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                "SELECT status, stage_names, items_failed, unique_key FROM jobs WHERE job_id = ?", (job_id,)
            )
            if not rows:
                raise JobNotFoundError(job_id)
            status = JobStatus(rows[0][0])
            stage_names: list[str] = json.loads(rows[0][1])
            items_failed = int(rows[0][2])
            unique_key = rows[0][3]
            if status not in ACTION_FROM[action]:
                raise InvalidTransitionError(job_id, status.value, action.value)
            after: JobStatus | None
            if action is Action.DELETE:
                await db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))
                await db.execute("DELETE FROM logs WHERE job_id = ?", (job_id,))
                await db.execute("DELETE FROM requests WHERE job_id = ?", (job_id,))
                return ControlResult(job_id, action, status, None)
            if action is Action.PAUSE:
                if status is JobStatus.RUNNING:
                    after = JobStatus.PAUSING
                    await self._set(db, job_id, status, after, now)
                else:
                    after = JobStatus.PAUSED
                    await self._set(db, job_id, status, after, now,
                                    "paused_at_ms = ?, pause_reason = 'paused by request', next_retry_at_ms = NULL",
                                    (now,))
            elif action is Action.CANCEL:
                if status in ACTIVE:
                    after = JobStatus.CANCELLING
                    await self._set(db, job_id, status, after, now)
                else:
                    after = JobStatus.CANCELLED
                    await self._set(db, job_id, status, after, now, "cancelled_at_ms = ?, next_retry_at_ms = NULL",
                                    (now,))
            elif action in (Action.RESUME, Action.RETRY):
                if status in TERMINAL and unique_key is not None:
                    clash = await db.execute_fetchall(
                        f"SELECT job_id FROM jobs WHERE unique_key = ? AND job_id != ? AND status NOT IN {_TERMINAL_SQL}",
                        (unique_key, job_id),
                    )
                    if clash:
                        raise InvalidTransitionError(
                            job_id, status.value, action.value, f"unique key {unique_key!r} has active job {clash[0][0]}"
                        )
                if status is JobStatus.COMPLETED:
                    first = await db.execute_fetchall(
                        "SELECT min(stage_index) FROM stages WHERE job_id = ? AND items_failed > 0", (job_id,)
                    )
                    if items_failed == 0 or not first or first[0][0] is None:
                        raise InvalidTransitionError(job_id, status.value, action.value, "no failed items to retry")
                    await self._reopen(db, job_id, int(first[0][0]), keep_items=True)
                after = JobStatus.QUEUED
                await self._set(
                    db, job_id, status, after, now,
                    "resume_count = resume_count + 1, consecutive_failures = 0, pause_reason = NULL,"
                    " error_message = NULL, failed_step = NULL, paused_at_ms = NULL, cancelled_at_ms = NULL,"
                    " completed_at_ms = NULL, next_retry_at_ms = NULL, run_at_ms = NULL",
                )
            elif action is Action.REWIND:
                if to_stage is None or not 0 <= to_stage < len(stage_names):
                    raise UsageError(f"job {job_id}: no stage {to_stage!r} to rewind to")
                await self._reopen(db, job_id, to_stage, keep_items=False)
                after = JobStatus.QUEUED
                await self._set(
                    db, job_id, status, after, now,
                    "resume_count = resume_count + 1, consecutive_failures = 0, pause_reason = NULL,"
                    " error_message = NULL, failed_step = NULL, paused_at_ms = NULL, cancelled_at_ms = NULL,"
                    " completed_at_ms = NULL, next_retry_at_ms = NULL, current_step_index = ?,"
                    " progress_done = 0, progress_total = 0, progress_message = NULL",
                    (to_stage,),
                )
            else:  # pragma: no cover - every Action is handled above
                raise UsageError(f"unknown action {action}")
            detail = stage_names[to_stage] if action is Action.REWIND and to_stage is not None else None
            await db.execute(
                "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, detail, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, now, action.value, status.value, after.value, detail, source),
            )
        return ControlResult(job_id, action, status, after)

    @staticmethod
    async def _set(
        db: aiosqlite.Connection, job_id: JobId, before: JobStatus, after: JobStatus, now: int,
        extra: str = "", extra_params: Sequence[Any] = (),
    ) -> None:
        sets = "status = ?, updated_at_ms = ?" + (", " + extra if extra else "")
        await db.execute(
            f"UPDATE jobs SET {sets} WHERE job_id = ? AND status = ?",
            (after.value, now, *extra_params, job_id, before.value),
        )

    @staticmethod
    async def _reopen(db: aiosqlite.Connection, job_id: JobId, from_stage: int, *, keep_items: bool) -> None:
        """Reset stages from `from_stage` on to pending; drop their items unless `keep_items` (then drop failed)."""
        if keep_items:
            await db.execute(
                "DELETE FROM items WHERE job_id = ? AND stage_index >= ? AND (stage_index > ? OR status = 'failed')",
                (job_id, from_stage, from_stage),
            )
        else:
            await db.execute("DELETE FROM items WHERE job_id = ? AND stage_index >= ?", (job_id, from_stage))
        await db.execute(
            "UPDATE stages SET status = 'pending', attempts = 0, generation = generation + 1, started_at_ms = NULL,"
            " finished_at_ms = NULL, error = NULL, output = NULL, state = NULL, checkpoint_at_ms = NULL,"
            " next_attempt_at_ms = NULL, items_total = NULL,"
            " items_done = (SELECT count(*) FROM items i WHERE i.job_id = stages.job_id"
            "   AND i.stage_index = stages.stage_index AND i.status = 'done'),"
            " items_failed = 0 WHERE job_id = ? AND stage_index >= ?",
            (job_id, from_stage),
        )
        await db.execute(
            "UPDATE jobs SET current_step_index = ?,"
            " items_done = (SELECT coalesce(sum(items_done), 0) FROM stages WHERE job_id = ?),"
            " items_failed = (SELECT coalesce(sum(items_failed), 0) FROM stages WHERE job_id = ?)"
            " WHERE job_id = ?",
            (from_stage, job_id, job_id, job_id),
        )

    # ------------------------------------------------------------------------------- runner path
    async def register_runner(self, info: RunnerInfo) -> None:
        """Record a runner and its first heartbeat."""
        async with self._tx() as db:
            await db.execute(
                "INSERT OR REPLACE INTO runners (runner_id, pid, hostname, started_at_ms, heartbeat_at_ms, concurrency)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (info.runner_id, info.pid, info.hostname, info.started_at_ms, info.heartbeat_at_ms, info.concurrency),
            )

    async def heartbeat(self, runner_id: str) -> bool:
        """Renew a runner's lease; return False when its row is gone (its jobs were reclaimed)."""
        async with self._tx() as db:
            cur = await db.execute(
                "UPDATE runners SET heartbeat_at_ms = ? WHERE runner_id = ?", (self.clock(), runner_id)
            )
            return cur.rowcount > 0

    async def unregister_runner(self, runner_id: str) -> None:
        """Remove a runner that stopped cleanly."""
        async with self._tx() as db:
            await db.execute("DELETE FROM runners WHERE runner_id = ?", (runner_id,))

    async def recover(
        self, *, self_id: str, ttl_ms: int, is_dead: Callable[[RunnerInfo], bool]
    ) -> list[tuple[JobId, JobStatus, JobStatus]]:
        """Release the jobs of runners that are gone; return (job_id, before, after) for each.

        A runner is gone when its heartbeat is older than `ttl_ms` or `is_dead` says its process is.
        Running jobs go back to queued (recovery_count + 1), pausing ones to paused, cancelling ones to
        cancelled; their stage in flight is marked interrupted and continues from its last checkpoint.
        """
        now = self.clock()
        recovered: list[tuple[JobId, JobStatus, JobStatus]] = []
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                "SELECT runner_id, pid, hostname, started_at_ms, heartbeat_at_ms, concurrency FROM runners"
            )
            live = {self_id}
            for r in rows:
                info = RunnerInfo(*r)
                if info.runner_id == self_id:
                    continue
                if now - info.heartbeat_at_ms > ttl_ms or is_dead(info):
                    await db.execute("DELETE FROM runners WHERE runner_id = ?", (info.runner_id,))
                else:
                    live.add(info.runner_id)
            orphans = await db.execute_fetchall(
                f"SELECT job_id, status, lease_owner FROM jobs WHERE status IN {_ACTIVE_SQL}"
            )
            for job_id, status_text, owner in orphans:
                if owner in live:
                    continue
                before = JobStatus(status_text)
                if before is JobStatus.RUNNING:
                    after = JobStatus.QUEUED
                    await db.execute(
                        "UPDATE jobs SET status = 'queued', lease_owner = NULL, recovery_count = recovery_count + 1,"
                        " updated_at_ms = ? WHERE job_id = ?",
                        (now, job_id),
                    )
                elif before is JobStatus.PAUSING:
                    after = JobStatus.PAUSED
                    await db.execute(
                        "UPDATE jobs SET status = 'paused', lease_owner = NULL, recovery_count = recovery_count + 1,"
                        " paused_at_ms = ?, pause_reason = coalesce(pause_reason, 'paused by request'),"
                        " updated_at_ms = ? WHERE job_id = ?",
                        (now, now, job_id),
                    )
                else:
                    after = JobStatus.CANCELLED
                    await db.execute(
                        "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, cancelled_at_ms = ?,"
                        " updated_at_ms = ? WHERE job_id = ?",
                        (now, now, job_id),
                    )
                await db.execute(
                    "UPDATE stages SET status = 'interrupted' WHERE job_id = ? AND status IN ('running', 'retrying')",
                    (job_id,),
                )
                await db.execute(
                    "INSERT INTO requests (job_id, ts_ms, action, from_status, to_status, detail, source)"
                    " VALUES (?, ?, 'recover', ?, ?, ?, ?)",
                    (job_id, now, before.value, after.value, f"runner {owner} gone", self_id),
                )
                recovered.append((job_id, before, after))
        return recovered

    async def claim(self, runner_id: str, limit: int, types: Iterable[str]) -> list[Claimed]:
        """Atomically take up to `limit` runnable jobs of `types` (priority, then age) for this runner."""
        if limit <= 0:
            return []
        now = self.clock()
        async with self._tx() as db:
            rows = await db.execute_fetchall(
                f"UPDATE jobs SET status = 'running', lease_owner = ?, started_at_ms = coalesce(started_at_ms, ?),"
                " updated_at_ms = ?, next_retry_at_ms = NULL, paused_at_ms = NULL"
                " WHERE job_id IN (SELECT job_id FROM jobs WHERE type IN (SELECT value FROM json_each(?)) AND ("
                "   (status = 'queued' AND (run_at_ms IS NULL OR run_at_ms <= ?))"
                "   OR (status = 'waiting_retry' AND next_retry_at_ms <= ?))"
                "  ORDER BY priority DESC, created_at_ms, job_id LIMIT ?)"
                f" RETURNING {JOB_COLS}",
                (runner_id, now, now, dumps(list(types)), now, now, limit),
            )
            jobs = sorted((_job(r) for r in rows), key=lambda j: (-j.priority, j.created_at_ms, j.job_id))
            if not jobs:
                return []
            stage_rows = await db.execute_fetchall(
                "SELECT job_id, stage_index, name, status, attempts, generation, output, state, items_done,"
                " items_failed FROM stages WHERE job_id IN (SELECT value FROM json_each(?))"
                " ORDER BY job_id, stage_index",
                (dumps([j.job_id for j in jobs]),),
            )
        by_job: dict[JobId, list[StageRecord]] = {}
        for r in stage_rows:
            by_job.setdefault(r[0], []).append(
                StageRecord(r[1], r[2], StageStatus(r[3]), r[4], r[5], _loads(r[6]), _loads(r[7]), r[8], r[9])
            )
        return [Claimed(j, tuple(by_job.get(j.job_id, ()))) for j in jobs]

    async def has_runnable(self, types: Iterable[str]) -> bool:
        """Tell whether any job of `types` is queued or waiting to retry (now or later), or held by a runner."""
        row = await self._one(
            "SELECT 1 FROM jobs WHERE status IN ('queued', 'waiting_retry', 'running', 'pausing', 'cancelling')"
            " AND type IN (SELECT value FROM json_each(?)) LIMIT 1",
            (dumps(list(types)),),
        )
        return row is not None

    async def next_due_ms(self, types: Iterable[str]) -> int | None:
        """Return the earliest time a delayed or waiting job of `types` becomes runnable."""
        row = await self._one(
            "SELECT min(coalesce(run_at_ms, next_retry_at_ms)) FROM jobs WHERE"
            " ((status = 'queued' AND run_at_ms IS NOT NULL) OR status = 'waiting_retry')"
            " AND type IN (SELECT value FROM json_each(?))",
            (dumps(list(types)),),
        )
        return None if row is None or row[0] is None else int(row[0])

    async def owned_requests(self, runner_id: str) -> dict[JobId, JobStatus]:
        """Return the status of every job this runner holds (pausing / cancelling show requests)."""
        rows = await self._all(
            f"SELECT job_id, status FROM jobs WHERE lease_owner = ? AND status IN {_ACTIVE_SQL}", (runner_id,)
        )
        return {r[0]: JobStatus(r[1]) for r in rows}

    async def item_keys(self, job_id: JobId, stage_index: int) -> tuple[set[str], set[str]]:
        """Return the keys of the done and of the failed items of one stage."""
        rows = await self._all(
            "SELECT key, status FROM items WHERE job_id = ? AND stage_index = ?", (job_id, stage_index)
        )
        done = {r[0] for r in rows if r[1] == "done"}
        failed = {r[0] for r in rows if r[1] != "done"}
        return done, failed

    # ---------------------------------------------------- group-committed writes from running jobs
    def stage_started(self, job_id: JobId, index: int, attempt: int, max_attempts: int) -> None:
        """Queue: a stage attempt starts."""
        now = self.clock()
        self._submit(
            R_STAGE_START,
            "UPDATE stages SET status = 'running', attempts = ?, max_attempts = ?,"
            " started_at_ms = coalesce(started_at_ms, ?), finished_at_ms = NULL, next_attempt_at_ms = NULL"
            " WHERE job_id = ? AND stage_index = ?",
            (attempt, max_attempts, now, job_id, index),
        )
        self._submit(
            R_STAGE_START,
            "UPDATE jobs SET current_step_index = ?, progress_done = 0, progress_total = 0, progress_message = NULL,"
            " updated_at_ms = ? WHERE job_id = ?",
            (index, now, job_id),
        )

    def stage_state(self, job_id: JobId, index: int, state: Any) -> None:
        """Queue: a stage's checkpoint state."""
        self._submit(
            R_STAGE_STATE,
            "UPDATE stages SET state = ?, checkpoint_at_ms = ? WHERE job_id = ? AND stage_index = ?",
            (dumps(state), self.clock(), job_id, index),
        )

    def item_finished(
        self, job_id: JobId, index: int, key: str, ok: bool, result: Any, error: str | None, attempts: int
    ) -> None:
        """Queue: an item's result and its done (or failed) mark, in one row."""
        self._submit(
            R_ITEM,
            "INSERT INTO items (job_id, stage_index, key, status, result, error, attempts, updated_at_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, stage_index, key) DO UPDATE SET"
            " status = excluded.status, result = excluded.result, error = excluded.error,"
            " attempts = items.attempts + excluded.attempts, updated_at_ms = excluded.updated_at_ms",
            (job_id, index, key, "done" if ok else "failed", None if result is None else dumps(result), error,
             attempts, self.clock()),
        )

    def stage_counters(self, job_id: JobId, index: int, total: int | None, done: int, failed: int) -> None:
        """Queue: a stage's item counters (the last value queued wins)."""
        self._submit(
            R_STAGE_COUNTERS,
            "UPDATE stages SET items_total = ?, items_done = ?, items_failed = ?, checkpoint_at_ms = ?"
            " WHERE job_id = ? AND stage_index = ?",
            (total, done, failed, self.clock(), job_id, index),
            key=(job_id, index),
        )

    def stage_finished(self, job_id: JobId, index: int, output: Any) -> None:
        """Queue: a stage completed with its output."""
        now = self.clock()
        self._submit(
            R_STAGE_END,
            "UPDATE stages SET status = 'completed', output = ?, finished_at_ms = ?, checkpoint_at_ms = ?,"
            " error = NULL, next_attempt_at_ms = NULL WHERE job_id = ? AND stage_index = ?",
            (dumps(output), now, now, job_id, index),
        )

    def stage_stopped(
        self, job_id: JobId, index: int, status: StageStatus, error: str | None, next_attempt_at_ms: int | None = None
    ) -> None:
        """Queue: a stage attempt ended without output (retrying, interrupted or failed)."""
        self._submit(
            R_STAGE_END,
            "UPDATE stages SET status = ?, error = coalesce(?, error), next_attempt_at_ms = ?,"
            " finished_at_ms = CASE WHEN ? = 'failed' THEN ? ELSE finished_at_ms END"
            " WHERE job_id = ? AND stage_index = ?",
            (status.value, error, next_attempt_at_ms, status.value, self.clock(), job_id, index),
        )

    def attempt_failed(self, job_id: JobId, index: int, attempt: int, error: str, transient: bool) -> None:
        """Queue: one failed attempt of a stage, kept as history."""
        self._submit(
            R_ATTEMPT,
            "INSERT OR REPLACE INTO attempts (job_id, stage_index, attempt, failed_at_ms, error, transient)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, index, attempt, self.clock(), error, int(transient)),
        )

    def job_completed(self, job_id: JobId, runner_id: str, total_steps: int) -> None:
        """Queue: the job completed."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'completed', lease_owner = NULL, completed_at_ms = ?, updated_at_ms = ?,"
            " current_step_index = ?, progress_message = NULL, error_message = NULL, failed_step = NULL,"
            " pause_reason = NULL WHERE job_id = ? AND lease_owner = ? AND status IN ('running', 'pausing', 'cancelling')",
            (now, now, total_steps, job_id, runner_id),
        )

    def job_failed(
        self, job_id: JobId, runner_id: str, stage: str, error: str, *, retry_at_ms: int | None
    ) -> None:
        """Queue: the job failed; with `retry_at_ms` it waits for an automatic retry."""
        now = self.clock()
        if retry_at_ms is None:
            self._submit(
                R_JOB_END,
                "UPDATE jobs SET status = 'failed', lease_owner = NULL, failed_step = ?, error_message = ?,"
                " updated_at_ms = ? WHERE job_id = ? AND lease_owner = ? AND status IN ('running', 'pausing')",
                (stage, error, now, job_id, runner_id),
            )
        else:
            self._submit(
                R_JOB_END,
                "UPDATE jobs SET status = 'waiting_retry', lease_owner = NULL, failed_step = ?, error_message = ?,"
                " retry_count = retry_count + 1, next_retry_at_ms = ?, updated_at_ms = ?"
                " WHERE job_id = ? AND lease_owner = ? AND status IN ('running', 'pausing')",
                (stage, error, retry_at_ms, now, job_id, runner_id),
            )

    def job_paused(self, job_id: JobId, runner_id: str, reason: str) -> None:
        """Queue: the job stopped at a safe point and is paused."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'paused', lease_owner = NULL, paused_at_ms = ?, pause_reason = ?,"
            " updated_at_ms = ? WHERE job_id = ? AND lease_owner = ? AND status IN ('running', 'pausing')",
            (now, reason, now, job_id, runner_id),
        )

    def job_cancelled(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the job was cancelled."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, cancelled_at_ms = ?, updated_at_ms = ?"
            " WHERE job_id = ? AND lease_owner = ? AND status IN ('running', 'pausing', 'cancelling')",
            (now, now, job_id, runner_id),
        )

    def job_released(self, job_id: JobId, runner_id: str) -> None:
        """Queue: the runner shuts down and hands the job back (queued, pausing → paused, cancelling → cancelled)."""
        now = self.clock()
        self._submit(
            R_JOB_END,
            "UPDATE jobs SET lease_owner = NULL, updated_at_ms = ?,"
            " status = CASE status WHEN 'pausing' THEN 'paused' WHEN 'cancelling' THEN 'cancelled' ELSE 'queued' END,"
            " paused_at_ms = CASE status WHEN 'pausing' THEN ? ELSE paused_at_ms END,"
            " pause_reason = CASE status WHEN 'pausing' THEN 'paused by request' ELSE pause_reason END,"
            " cancelled_at_ms = CASE status WHEN 'cancelling' THEN ? ELSE cancelled_at_ms END"
            " WHERE job_id = ? AND lease_owner = ? AND status IN ('running', 'pausing', 'cancelling')",
            (now, now, now, job_id, runner_id),
        )

    def progress(
        self, job_id: JobId, done: int, total: int, message: str | None, items_done: int, items_failed: int,
        consecutive_failures: int,
    ) -> None:
        """Queue: a job's progress and counters (the last value queued wins)."""
        self._submit(
            R_PROGRESS,
            "UPDATE jobs SET progress_done = ?, progress_total = ?, progress_message = ?, items_done = ?,"
            " items_failed = ?, consecutive_failures = ?, updated_at_ms = ? WHERE job_id = ?",
            (done, total, message, items_done, items_failed, consecutive_failures, self.clock(), job_id),
            key=job_id,
        )

    def log(self, job_id: JobId, level: str, message: str) -> None:
        """Queue: one line of a job's log."""
        self._submit(
            R_LOG,
            "INSERT INTO logs (job_id, ts_ms, level, message) VALUES (?, ?, ?, ?)",
            (job_id, self.clock(), level, message),
        )

    def trim_logs(self, job_id: JobId, keep: int) -> None:
        """Queue: drop all but the last `keep` log lines of a job."""
        self._submit(
            R_LOG_TRIM,
            "DELETE FROM logs WHERE job_id = ? AND log_id <= (SELECT log_id FROM logs WHERE job_id = ?"
            " ORDER BY log_id DESC LIMIT 1 OFFSET ?)",
            (job_id, job_id, keep),
            key=job_id,
        )
