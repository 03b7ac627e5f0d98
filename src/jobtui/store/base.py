"""The store's core: the SQLite connection, opening and marking the file, migrations and transactions.

Writes from the engine are queued and committed in groups (store/commit.py). Control requests,
claims and recovery run in their own `BEGIN IMMEDIATE`: `_atomic(body)`, which on SQLite runs the whole
transaction in one call on the connection's thread (store/seam.py), so a blocked event loop never holds
the write lock; `_tx` (a block of the caller's, whose statements are awaited one by one) is left for an API
submit whose upload is moved inside its transaction, and for PostgreSQL (row locks, no database-wide one).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from ..errors import NotJobtuiDatabaseError, SchemaVersionError, StoreError, UsageError
from ..model import now_ms
from .commit import GroupCommit
from .dbfile import _absolute, _explain, _locate, is_transient_db_error
from .dialect import Dialect
from .schema import APPLICATION_ID, LEGACY_TABLES, MIGRATIONS, statements
from .seam import Body, Db, Row, SqliteDb

log = logging.getLogger("jobtui.store")
T = TypeVar("T")


class StoreCore(GroupCommit):
    """One connection to one database (SQLite here; store/postgres.py for PostgreSQL), its transactions and its
    group commit."""

    notify_defaults: tuple[tuple[str, str], ...] = ()
    """(kind, target) told of the ends of jobs that name no target of their own (store/notify.py)."""

    def __init__(self, conn: Db, path: Path, clock: Callable[[], int] = now_ms) -> None:
        super().__init__()
        self._conn = conn
        self.path = path
        self.clock = clock
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
        readonly: bool = False,
    ) -> Self:
        """Open the database at `path`, creating it (with `create`) and migrating it if needed.

        `workspace_root` is where the jobs' workspaces go (default: see `workspace_root`). With
        `readonly`, an existing database is opened `mode=ro`: never created, migrated nor written.

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
        located, fresh = await asyncio.to_thread(_locate, path, create and not readonly)
        path = located
        try:
            # mode=rw: SQLite never creates the file; an existing one is only read until it is known to be ours.
            uri = "file:" + urllib.parse.quote(str(path)) + ("?mode=ro" if readonly else "?mode=rw")
            conn = await aiosqlite.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as e:
            raise StoreError(_explain(e, path)) from e
        store = cls(SqliteDb(conn), path, clock)
        store._options = {"synchronous": synchronous, "busy_timeout_ms": busy_timeout_ms, "clock": clock,
                          "workspace_root": workspace_root, "readonly": readonly}
        if workspace_root is not None:
            store._workspace_root = await asyncio.to_thread(_absolute, workspace_root)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise UsageError(f"bad synchronous mode {synchronous!r}")
            if readonly:
                await store._check_ours()
                await store._check_current()
                return store
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

    async def _check_current(self) -> None:
        """Raise StoreError unless the schema is this jobtui's (a read-only open cannot migrate it)."""
        version = int((await self._one_raw("PRAGMA user_version"))[0])
        if version > len(MIGRATIONS):
            raise SchemaVersionError(
                f"{self.path}: database schema v{version} is newer than this jobtui (v{len(MIGRATIONS)}); upgrade jobtui"
            )
        if version < len(MIGRATIONS) or (await self._one_raw("PRAGMA application_id"))[0] != APPLICATION_ID:
            raise StoreError(f"{self.path}: database schema v{version} needs an upgrade to v{len(MIGRATIONS)},"
                             " which a reading command does not do: run a writing one first (e.g. `jobtui run`)")

    @property
    def sql(self) -> Dialect:
        """The SQL this backend writes its own way (store/dialect.py)."""
        return self._conn.dialect

    async def _one_raw(self, sql: str) -> Any:
        rows = await self._conn.execute_fetchall(sql)
        return rows[0] if rows else (0,)

    async def _migrate(self) -> None:
        version = int((await self._one_raw("PRAGMA user_version"))[0])
        if version > len(MIGRATIONS):
            raise SchemaVersionError(
                f"{self.path}: database schema v{version} is newer than this jobtui (v{len(MIGRATIONS)}); upgrade jobtui"
            )
        app_id = (await self._one_raw("PRAGMA application_id"))[0]
        if version == len(MIGRATIONS) and app_id == APPLICATION_ID:
            return

        async def _body(db: Db) -> None:
            version = int((await db.execute_fetchall("PRAGMA user_version") or [(0,)])[0][0])
            for script in MIGRATIONS[version:]:
                for statement in statements(script):
                    await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            await db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

        await self._atomic(_body)

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
            self._settle_riders(self._riders, None)
            self._riders = []
            await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------ plumbing
    async def _atomic(self, body: Body[T]) -> T:
        """Run a write transaction's `body`, serialised with the group commit: on SQLite BEGIN ... COMMIT in one
        call on the connection's thread (the write lock never outlives the statements), elsewhere in `_tx`."""
        if not isinstance(self._conn, SqliteDb):
            async with self._tx() as db:
                return await body(db)
        async with self._lock:
            try:
                return await self._conn.atomically(body)
            except sqlite3.Error as e:
                raise StoreError(_explain(e, self.path)) from e

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[Db]:
        """Run a block in one `BEGIN IMMEDIATE` transaction, serialised with the group commit.

        Its statements are awaited one by one: SQLite's write lock is held while this event loop is blocked
        between them. Code a runner (or a TUI with one embedded) runs uses `_atomic` instead."""
        async with self._lock:
            try:
                await self._conn.begin()
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
                    await self._conn.commit()
                except sqlite3.Error as e:
                    await self._rollback()
                    raise StoreError(_explain(e, self.path)) from e

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            return await self._conn.execute_fetchall(sql, params)
        except sqlite3.Error as e:
            raise StoreError(_explain(e, self.path)) from e

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._all(sql, params)
        return rows[0] if rows else None
