"""The store's core: the connection, transactions, migrations and the group commit.

Writes from the engine (stage ends, item results, progress, logs) are queued with `_submit` and
committed together by one writer task: many concurrent jobs share one transaction and one fsync.
A caller that needs durability awaits `commit_point()`, which returns once everything it queued
so far is committed. Control requests, claims and recovery run in their own `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sqlite3
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiosqlite

from ..errors import (
    NoDatabaseError,
    NotJobtuiDatabaseError,
    SchemaVersionError,
    StoreError,
    UsageError,
)
from ..kinds import StopKind
from ..model import (
    ACTIVE,
    PENDING,
    TERMINAL,
    Action,
    ItemStatus,
    Job,
    JobId,
    JobStatus,
    StageRun,
    StageStatus,
    now_ms,
)
from .batch import R_ATTEMPT as R_ATTEMPT
from .batch import R_ITEM as R_ITEM
from .batch import R_JOB_END as R_JOB_END
from .batch import R_LOG as R_LOG
from .batch import R_LOG_TRIM as R_LOG_TRIM
from .batch import R_PROGRESS as R_PROGRESS
from .batch import R_STAGE_COUNTERS as R_STAGE_COUNTERS
from .batch import R_STAGE_END as R_STAGE_END
from .batch import R_STAGE_START as R_STAGE_START
from .batch import R_STAGE_STATE as R_STAGE_STATE
from .batch import Batch as _Batch
from .schema import APPLICATION_ID, LEGACY_TABLES, MIGRATIONS, sql_in, statements

log = logging.getLogger("jobtui.store")


JOB_COLS = (
    "job_id, type, status, params, priority, unique_key, stage_names, current_step_index, progress_done,"
    " progress_total, progress_message, failed_step, error_message, pause_reason, retry_count, max_retries,"
    " next_retry_at_ms, resume_count, recovery_count, consecutive_failures, run_at_ms, created_at_ms,"
    " started_at_ms, updated_at_ms, paused_at_ms, completed_at_ms, cancelled_at_ms, lease_owner, items_done,"
    " items_failed, timeout_ms"
)
STAGE_COLS = (
    "stage_index, name, status, attempts, max_attempts, started_at_ms, finished_at_ms, error, items_total,"
    " items_done, items_failed, checkpoint_at_ms, next_attempt_at_ms, runs, failures, output, traceback"
)
_ACTIVE_SQL = sql_in(ACTIVE)
_TERMINAL_SQL = sql_in(TERMINAL)
_PENDING_SQL = sql_in(PENDING)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def dumps(value: Any) -> str:
    """Encode a value for a JSON column (one encoder for all: json.dumps with options builds one per call)."""
    return _ENCODER.encode(value)


class CorruptRowError(StoreError):
    """A row holds what jobtui never writes (an unknown status, invalid JSON): reported, never a traceback."""


def _loads(text: str | None) -> Any:
    try:
        return None if text is None else json.loads(text)
    except (ValueError, TypeError, RecursionError) as e:
        raise CorruptRowError(f"the database holds invalid JSON ({type(e).__name__}: {str(e)[:80]})") from None


_STATUS: dict[str, JobStatus] = {s.value: s for s in JobStatus}


@functools.lru_cache(maxsize=1024)
def _names(text: str) -> tuple[str, ...]:
    # Jobs of one type share their stage list: parse each distinct list once (the TUI reads 10k rows).
    return tuple(json.loads(text))


def job_status(text: Any, job_id: Any = None) -> JobStatus:
    """Return the JobStatus of a stored status text (CorruptRowError for one jobtui never writes)."""
    try:
        return _STATUS[text]
    except (KeyError, TypeError):
        raise CorruptRowError(f"job {job_id}: unknown status {text!r} in the database") from None


def item_status(text: Any) -> ItemStatus:
    """Return the ItemStatus of a stored item status text (CorruptRowError for one jobtui never writes)."""
    try:
        return ItemStatus(text)
    except ValueError:
        raise CorruptRowError(f"an item has unknown status {text!r} in the database") from None


def _job(row: Sequence[Any]) -> Job:
    try:
        params = _loads(row[3])
        names = _names(row[6])
    except (CorruptRowError, ValueError, TypeError, RecursionError):
        raise CorruptRowError(f"job {row[0]}: its row in the database is unreadable (invalid JSON)") from None
    if not isinstance(params, dict):
        raise CorruptRowError(f"job {row[0]}: its params in the database are not a JSON object")
    return Job(row[0], row[1], job_status(row[2], row[0]), params, row[4], row[5], names, *row[7:])


def _stage(row: Sequence[Any]) -> StageRun:
    (attempts, max_attempts, started, finished, error, items_total, items_done, items_failed, checkpoint, next_attempt,
     runs, failures, output, traceback) = row[3:17]
    try:
        status = StageStatus(row[2])
    except ValueError:
        raise CorruptRowError(f"stage {row[1]!r}: unknown status {row[2]!r} in the database") from None
    return StageRun(row[0], row[1], status, attempts, max_attempts, started, finished, error, items_total,
                    items_done, items_failed, checkpoint, next_attempt, runs, failures, _loads(output), traceback)


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


@dataclass(frozen=True, slots=True)
class ControlResult:
    """The outcome of one control request."""

    job_id: JobId
    action: Action
    before: JobStatus
    after: JobStatus | None
    """None when the job was deleted."""


_TRANSIENT_CODES = frozenset({5, 6, 7, 10, 13, 15})
"""SQLITE_BUSY, LOCKED, NOMEM, IOERR, FULL, PROTOCOL: conditions that pass (another process lets go of
the lock, space is freed); a write that meets one is kept and tried again, never dropped."""


def is_transient_db_error(exc: BaseException) -> bool:
    """Tell whether a database error is a passing condition (busy, locked, disk full, I/O) worth waiting out."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in _TRANSIENT_CODES
    text = str(exc).lower()
    return any(w in text for w in ("locked", "busy", "disk is full", "disk i/o", "out of memory"))


def prepare_path(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) so that both are private to the user."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _absolute(path: str | Path) -> Path:
    """Return `path` with `~` expanded, made absolute (blocking: reads the home folder and the cwd)."""
    return Path(path).expanduser().absolute()


def _locate(path: str | Path, create: bool) -> tuple[Path, bool]:
    """Return the database's absolute path and whether it is fresh (none or empty); create a fresh one if asked.

    Raises:
        NoDatabaseError: nothing at `path` and not `create`.
        StoreError: the path cannot be read or created.
    """
    path = _absolute(path)
    try:
        fresh = not path.exists() or (path.is_file() and path.stat().st_size == 0)
    except OSError as e:
        raise StoreError(f"{path}: cannot open database ({e.strerror or e})") from e
    if fresh and not create:
        raise NoDatabaseError(f"no database at {path}")
    if fresh:
        try:
            prepare_path(path)
        except OSError as e:
            raise StoreError(f"{path}: cannot create database ({e.strerror or e})") from e
    return path, fresh


def _explain(exc: BaseException, path: Path | str) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a jobtui database or corrupt ({text})"
    if "locked" in text or "busy" in text:
        return f"{path}: database is locked by another process ({text})"
    if "readonly" in text or "unable to open" in text:
        return f"{path}: cannot open database ({text})"
    return f"{path}: {text}"


class StoreCore:
    """One aiosqlite connection to one SQLite file, its transactions and its group commit."""

    notify_defaults: tuple[tuple[str, str], ...] = ()
    """(kind, target) told of the ends of jobs that name no target of their own (store/notify.py)."""

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
        self._closing = asyncio.Event()
        self._stalled_since: float | None = None
        self._stall_said = -1e9
        self.fence: str | None = None
        """A runner id: while set, a group commit writes for a job only while this runner holds its lease."""
        self.on_dropped: Callable[[set[JobId], StopKind], None] | None = None
        """Told of jobs whose queued writes were dropped: reason 'lost' (another runner holds the job)
        or 'store' (the commit failed for good); their owner must stop them at their last checkpoint."""
        self.commits = 0
        """Group commits made, for benchmarks."""
        self._workspace_root: Path | None = None
        self._options: dict[str, Any] = {}
        self.on_wake: Callable[[], None] | None = None
        """Told when another process submits or steers jobs (a backend with push, PostgreSQL's LISTEN);
        the runner sets it to its wake(). SQLite never calls it: its runners poll."""

    # ------------------------------------------------------------------------------------- identity
    @property
    def location(self) -> str:
        """Where the data is, fit to show: the database file's path."""
        return str(self.path)

    @property
    def workspace_root(self) -> Path:
        """The folder of the jobs' workspaces: the option given to open(), else `$JOBTUI_WORKSPACES`,
        else `<db stem>.workspaces` beside the database file (the default since the first version)."""
        if self._workspace_root is not None:
            return self._workspace_root
        env = os.environ.get("JOBTUI_WORKSPACES", "").strip()
        if env:
            return Path(env).expanduser().absolute()
        return self.path.parent / f"{self.path.stem}.workspaces"

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether a StoreError (or its cause) is a passing condition of the database worth waiting out."""
        return is_transient_db_error(exc.__cause__ or exc)

    def _transient_error(self, exc: BaseException) -> bool:
        """Tell whether an error the group commit met is passing (keep the batch and retry) for this backend."""
        return is_transient_db_error(exc)

    async def reopen(self) -> Self:
        """Open one more store (its own connection) on the same database, with the same options."""
        return await type(self).open(self.path, create=False, **self._options)

    # ----------------------------------------------------------------------------------- open/close
    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int | None = None,
        clock: Callable[[], int] = now_ms,
        create: bool = True,
        workspace_root: str | Path | None = None,
    ) -> Self:
        """Open the database at `path`, creating it (with `create`) and migrating it if needed.

        `workspace_root` is where the jobs' workspaces go (default: see `workspace_root`).

        An existing file is used only if it is a jobtui database (marked with `PRAGMA
        application_id`, or an unmarked one of the first schemas, which is then marked); any
        other file is refused before anything is written to it.

        Raises:
            NoDatabaseError: nothing at `path` and not `create`.
            NotJobtuiDatabaseError: the file is not a jobtui database.
            StoreError: the file is corrupt, locked or unreadable.
            SchemaVersionError: the file was written by a newer jobtui.
        """
        if not str(path).strip():
            raise UsageError("the database path is empty")
        if busy_timeout_ms is None:
            env = os.environ.get("JOBTUI_BUSY_TIMEOUT_MS", "10000")
            busy_timeout_ms = int(env) if env.isascii() and env.isdigit() and len(env) < 10 else 10_000
        # File-system calls block (a slow or network disk): off the event loop, which may drive the TUI.
        located, fresh = await asyncio.to_thread(_locate, path, create)
        path = located
        try:
            # mode=rw: SQLite never creates the file; an existing one is only read until it is known to be ours.
            uri = "file:" + urllib.parse.quote(str(path)) + "?mode=rw"
            conn = await aiosqlite.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as e:
            raise StoreError(_explain(e, path)) from e
        store = cls(conn, path, clock)
        store._options = {"synchronous": synchronous, "busy_timeout_ms": busy_timeout_ms, "clock": clock,
                          "workspace_root": workspace_root}
        if workspace_root is not None:
            store._workspace_root = await asyncio.to_thread(_absolute, workspace_root)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise UsageError(f"bad synchronous mode {synchronous!r}")
            if not fresh:
                await store._check_ours()
            else:
                # Create the schema and the mark in one transaction, before WAL: a crash leaves
                # an empty file (the rollback journal undoes it), never an unmarked half-made one.
                await store._migrate()
            cur = await conn.execute("PRAGMA journal_mode = WAL")
            row = await cur.fetchone()
            if row is None or str(row[0]).lower() != "wal":
                raise StoreError(f"{path}: cannot switch the database to WAL mode")
            await conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA temp_store = MEMORY")
            if not fresh:
                await store._migrate()
        except BaseException as e:
            await conn.close()
            if isinstance(e, sqlite3.Error):
                raise StoreError(_explain(e, path)) from e
            raise
        return store

    async def _check_ours(self) -> None:
        """Raise NotJobtuiDatabaseError unless the open file is a jobtui database (reads only)."""
        try:
            app_id = (await self._one_raw("PRAGMA application_id"))[0]
            if app_id == APPLICATION_ID:
                return
            version = (await self._one_raw("PRAGMA user_version"))[0]
            names = {r[0] for r in await self._conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as e:
            if "not a database" in str(e) or "malformed" in str(e):
                raise NotJobtuiDatabaseError(_explain(e, self.path)) from e
            raise
        # An unmarked database of jobtui before the mark: schema v1 or v2 with all of its tables.
        if app_id == 0 and version in LEGACY_TABLES and LEGACY_TABLES[version] <= names:
            return
        raise NotJobtuiDatabaseError(f"{self.path}: not a jobtui database")

    async def _one_raw(self, sql: str) -> Any:
        cur = await self._conn.execute(sql)
        row = await cur.fetchone()
        return row if row is not None else (0,)

    async def _migrate(self) -> None:
        cur = await self._conn.execute("PRAGMA user_version")
        row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise SchemaVersionError(
                f"{self.path}: database schema v{version} is newer than this jobtui (v{len(MIGRATIONS)}); upgrade jobtui"
            )
        app_id = (await self._one_raw("PRAGMA application_id"))[0]
        if version == len(MIGRATIONS) and app_id == APPLICATION_ID:
            return
        async with self._tx() as db:
            cur = await db.execute("PRAGMA user_version")
            row = await cur.fetchone()
            version = int(row[0]) if row else 0
            for script in MIGRATIONS[version:]:
                for statement in statements(script):
                    await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            await db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Commit what is queued (waiting up to `timeout_s` for a busy or full database), stop the writer, close."""
        if self._closed:
            return
        try:
            if self._batch.size or self.stalled:
                await asyncio.wait_for(self.commit_point(), timeout_s)
        except StoreError:
            pass
        except TimeoutError:
            log.error("%d write(s) could not be committed before closing (%s); their jobs continue from their"
                      " last committed checkpoint", self._batch.size, self.path)
        finally:
            self._closed = True
            self._closing.set()
            if self._writer is not None:
                self._writer.cancel()
                try:
                    await self._writer
                except asyncio.CancelledError:
                    pass
            await self._conn.close()

    async def __aenter__(self) -> Self:
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
            except asyncio.CancelledError:
                # The BEGIN still runs on aiosqlite's thread and may open the transaction after we
                # were cancelled; a ROLLBACK queued behind it closes it, or the next BEGIN would fail.
                await self._rollback()
                raise
            try:
                yield self._conn
            except BaseException as e:
                await self._rollback()
                if isinstance(e, sqlite3.Error):
                    raise StoreError(_explain(e, self.path)) from e
                raise
            else:
                try:
                    await self._conn.execute("COMMIT")
                except sqlite3.Error as e:
                    await self._rollback()
                    raise StoreError(_explain(e, self.path)) from e

    async def _rollback(self) -> None:
        """Roll back the open transaction, if any; a failure here changes nothing worth reporting."""
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.Error as e:
            raise StoreError(_explain(e, self.path)) from e

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    def _submit(self, rank: int, sql: str, params: Sequence[Any], key: Any = None, job: JobId | None = None) -> None:
        """Queue one statement of `job` for the next group commit; with `key`, a later one replaces it."""
        if self._closed:
            raise StoreError("store is closed")
        batch = self._batch
        if key is None:
            by_sql = batch.ops.get(rank)
            if by_sql is None:
                by_sql = batch.ops[rank] = {}
            entry = by_sql.get(sql)
            if entry is None:
                by_sql[sql] = ([job], [params])
            else:
                entry[0].append(job)
                entry[1].append(params)
            batch.size += 1
        else:
            by_key = batch.keyed.get(rank)
            if by_key is None:
                by_key = batch.keyed[rank] = {}
            keyed = by_key.get(sql)
            if keyed is None:
                keyed = by_key[sql] = {}
            if key not in keyed:
                batch.size += 1
            keyed[key] = (job, params)
        # Hot path (several calls per stage and per item): once woken, the writer runs soon anyway.
        if not self._wake.is_set():
            self._ensure_writer()
            self._wake.set()

    def _latest(self, rank: int, sql: str, key: Any, job: JobId | None, read: Callable[[], Sequence[Any]]) -> None:
        """Queue a keyed row whose values `read` returns when the next group commit takes the batch.

        For rows that change many times between two commits (item counters, progress): once queued,
        a change costs nothing here; the values are read once per commit.
        """
        batch = self._batch
        if key in batch.latest:
            return
        if self._closed:
            raise StoreError("store is closed")
        batch.latest[key] = (rank, sql, job, read)
        batch.size += 1
        if not self._wake.is_set():
            self._ensure_writer()
            self._wake.set()

    def _unqueue(self, rank: int, sql: str, key: Any) -> Sequence[Any] | None:
        """Take back a keyed statement not yet taken by a group commit; return its params (None: none such)."""
        keyed = self._batch.keyed.get(rank, {}).get(sql)
        if not keyed:
            return None
        entry = keyed.pop(key, None)
        if entry is None:
            return None
        self._batch.size -= 1
        return entry[1]

    def _ensure_writer(self) -> None:
        """Start the writer task, or start it again should it ever have ended."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="jobtui-store-writer")

    @property
    def pending(self) -> int:
        """Return how many statements wait for the next group commit."""
        return self._batch.size

    @property
    def stalled(self) -> bool:
        """Tell whether the last group commit failed on a passing condition and its writes wait to be retried."""
        return self._stalled_since is not None

    async def commit_point(self) -> None:
        """Return once everything queued so far is committed.

        While the database is busy, locked by another process or its disk is full, this waits (the
        writes stay queued and are retried); it does not fail for that.

        Raises:
            StoreError: the group commit that held these writes failed for good (the writes were
                dropped and the jobs they belonged to were told through `on_dropped`).
        """
        if self._batch.size == 0 and not self._flushing and not self.stalled:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batch.waiters.append(fut)
        self._ensure_writer()
        self._wake.set()
        await fut

    def _dropped(self, jobs: set[JobId | None], reason: StopKind) -> None:
        """Tell the owner of `jobs` that their queued writes were dropped; never let its error stop the writer."""
        hook = self.on_dropped
        real = {j for j in jobs if j is not None}
        if hook is None or not real:
            return
        try:
            hook(real, reason)
        except Exception:
            log.exception("the handler of dropped writes failed")

    async def _write_loop(self) -> None:
        """Commit queued statements in groups, for as long as the store is open.

        Any failure is handled here and the loop lives on: a passing condition (busy, locked, disk
        full, I/O) keeps the batch queued and retries it with backoff; anything else rolls back,
        drops the batch, tells its jobs' owner (`on_dropped`) and fails its waiters.
        """
        delay = 0.0
        while True:
            if delay:
                try:
                    await asyncio.wait_for(self._closing.wait(), delay)
                except TimeoutError:
                    pass
            else:
                await self._wake.wait()
            self._wake.clear()
            try:
                delay = await self._flush(delay)
            except asyncio.CancelledError:
                raise
            except BaseException:  # a bug here must not end the writer: every commit after would hang
                log.exception("group commit: unexpected failure; retrying")
                delay = 1.0

    async def _flush(self, delay: float) -> float:
        """Try one group commit; return how long to wait before the next try (0: until woken)."""
        async with self._lock:
            if self._batch.size == 0:
                batch = self._take()
                self._recovered(0)
                for w in batch.waiters:
                    if not w.done():
                        w.set_result(None)
                return 0.0
            self._flushing = True
            taken: _Batch | None = None
            lost: set[JobId | None] = set()
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                # Take the batch only now: what arrived while BEGIN waited joins this commit.
                taken = self._take()
                allowed: set[JobId | None] | None = None
                if self.fence is not None:
                    # Write for a job only while this runner holds its lease: a runner that froze and
                    # was taken for dead must not write over the work of the runner that took its jobs.
                    owned = await self._conn.execute_fetchall(
                        "SELECT job_id FROM jobs WHERE lease_owner = ?", (self.fence,)
                    )
                    allowed = {r[0] for r in owned}
                    allowed.add(None)
                plan, lost = taken.plan(allowed)
                for sql, rows in plan:
                    await self._conn.executemany(sql, rows)
                await self._conn.execute("COMMIT")
            except asyncio.CancelledError:
                await self._rollback()
                if taken is not None:
                    self._requeue(taken)
                raise
            except Exception as e:
                await self._rollback()
                if self._transient_error(e):
                    # A passing condition: keep every write, in order, and tell the waiters nothing yet.
                    if taken is not None:
                        self._requeue(taken)
                    self._stalling(e)
                    return min(2.0, max(0.05, delay * 2))
                text = _explain(e, self.path) if isinstance(e, sqlite3.Error) else describe_exc(e)
                error = StoreError(f"group commit failed: {text}")
                error.__cause__ = e
                batch = taken if taken is not None else self._take()
                affected = batch.jobs()
                # Writes of these jobs queued after the lost ones build on them (counters): drop them too.
                self._batch.purge(affected)
                log.error("group commit failed; %d write(s) of job(s) %s dropped: %s", batch.size,
                          _ids(affected), error)
                self._dropped(affected, StopKind.STORE)
                for w in batch.waiters:
                    if not w.done():
                        w.set_exception(error)
                return 0.0
            finally:
                self._flushing = False
            self.commits += 1
            self._recovered(taken.size)
            if lost:
                self._batch.purge(lost)
                log.warning("writes of job(s) %s refused: runner %s no longer holds them", _ids(lost), self.fence)
                self._dropped(lost, StopKind.LOST)
            for w in taken.waiters:
                if not w.done():
                    w.set_result(None)
            return 0.0

    def _take(self) -> _Batch:
        """Take the queued batch for a commit (its `latest` rows read now, in step with the rows queued so far)."""
        batch, self._batch = self._batch, _Batch()
        batch.freeze()
        return batch

    def _requeue(self, batch: _Batch) -> None:
        """Put a batch that did not commit back in front of what was queued since."""
        batch.absorb(self._batch)
        self._batch = batch

    def _stalling(self, exc: BaseException) -> None:
        """Say (once, then every 30 s) that writes wait for a passing condition of the database."""
        now = time.monotonic()
        if self._stalled_since is None:
            self._stalled_since = now
        if now - self._stall_said >= 30.0:
            self._stall_said = now
            log.warning("waiting for the database (%s): %d write(s) queued, retrying",
                        _explain(exc, self.location), self._batch.size)

    def _recovered(self, size: int) -> None:
        if self._stalled_since is not None:
            log.warning("database writable again after %.1fs: %d queued write(s) committed",
                        time.monotonic() - self._stalled_since, size)
            self._stalled_since = None
            self._stall_said = -1e9


def _ids(jobs: set[JobId | None]) -> str:
    return ", ".join(str(j) for j in sorted(j for j in jobs if j is not None)) or "-"


def describe_exc(exc: BaseException) -> str:
    """Return `Type: message` for an exception."""
    return f"{type(exc).__name__}: {exc}"
