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
import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiosqlite

from ..errors import (
    LeaseLostError,
    NoDatabaseError,
    NotJobtuiDatabaseError,
    SchemaVersionError,
    StoreError,
    UsageError,
)
from ..model import (
    ACTIVE,
    PENDING,
    TERMINAL,
    Action,
    Job,
    JobId,
    JobStatus,
    StageRun,
    StageStatus,
    now_ms,
)
from .schema import APPLICATION_ID, LEGACY_TABLES, MIGRATIONS, sql_in

# Ranks order the statements of one group commit: a job's un-awaited writes must be rank-increasing.
# Progress comes before a job's end, so that the end's clean-up (progress message) wins.
R_STAGE_START = 10
R_STAGE_STATE = 20
R_ITEM = 30
R_STAGE_COUNTERS = 35
R_STAGE_END = 40
R_ATTEMPT = 45
R_JOB_END = 50
R_PROGRESS = 48
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
_ACTIVE_SQL = sql_in(ACTIVE)
_TERMINAL_SQL = sql_in(TERMINAL)
_PENDING_SQL = sql_in(PENDING)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def dumps(value: Any) -> str:
    """Encode a value for a JSON column (one encoder for all: json.dumps with options builds one per call)."""
    return _ENCODER.encode(value)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_STATUS: dict[str, JobStatus] = {s.value: s for s in JobStatus}


@functools.lru_cache(maxsize=1024)
def _names(text: str) -> tuple[str, ...]:
    # Jobs of one type share their stage list: parse each distinct list once (the TUI reads 10k rows).
    return tuple(json.loads(text))


def _job(row: Sequence[Any]) -> Job:
    return Job(row[0], row[1], _STATUS[row[2]], json.loads(row[3]), row[4], row[5], _names(row[6]), *row[7:])


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
    after: tuple[JobId, ...] = ()
    """Jobs that must complete before this one starts."""


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


class StoreCore:
    """One aiosqlite connection to one SQLite file, its transactions and its group commit."""

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
        create: bool = True,
    ) -> Self:
        """Open the database at `path`, creating it (with `create`) and migrating it if needed.

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
        path = Path(path).expanduser().absolute()
        if busy_timeout_ms is None:
            env = os.environ.get("JOBTUI_BUSY_TIMEOUT_MS", "10000")
            busy_timeout_ms = int(env) if env.isascii() and env.isdigit() and len(env) < 10 else 10_000
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
        try:
            # mode=rw: SQLite never creates the file; an existing one is only read until it is known to be ours.
            uri = "file:" + urllib.parse.quote(str(path)) + "?mode=rw"
            conn = await aiosqlite.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as e:
            raise StoreError(_explain(e, path)) from e
        store = cls(conn, path, clock)
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
                for statement in script.split(";"):
                    if statement.strip():
                        await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            await db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

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

    def _submit(self, rank: int, sql: str, params: Sequence[Any], key: Any = None) -> None:
        """Queue one statement for the next group commit; with `key`, a later one replaces it."""
        if self._closed:
            raise StoreError("store is closed")
        batch = self._batch
        if key is None:
            batch.ops.setdefault(rank, {}).setdefault(sql, []).append(params)
            batch.size += 1
        else:
            keyed = batch.keyed.setdefault(rank, {}).setdefault(sql, {})
            if key not in keyed:
                batch.size += 1
            keyed[key] = params
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
                        held = await self._conn.execute_fetchall(
                            "SELECT 1 FROM runners WHERE runner_id = ?", (self.fence,)
                        )
                        if not list(held):
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
                    await self._rollback()
            self._flushing = False
            for w in batch.waiters:
                if w.done():
                    continue
                if error is None:
                    w.set_result(None)
                else:
                    w.set_exception(error)
