"""The PostgreSQL store (issue 10): the same store logic as SQLite's, over asyncpg, for many runners on many hosts.

The SQL of the store's mixins (jobs.py, runs.py, deps.py, ...) is one text for both backends where it can
be, and PostgreSQL's own where it differs (store/sql_pg.py, store/schema_pg.py); `PgConnection` runs it as
it is, behind the typed connection seam (store/seam.py `Db`).

What SQLite gave for free, and how it holds here:

* Many writers at once (issue 17). SQLite's `BEGIN IMMEDIATE` serialises every write transaction of every
  process; here transactions run side by side at READ COMMITTED, and every check-then-write of the
  store is a guarded statement or holds the rows it checked: claims pick with `FOR UPDATE SKIP LOCKED`,
  job moves are `UPDATE ... WHERE status = <allowed> AND lease_owner = <me>`, the group commit locks
  the rows of the jobs its runner holds (`FOR NO KEY UPDATE`: its fence), a control request locks its
  job's row, a new dependency its parent's (`FOR SHARE`), and unique keys and dependencies are
  constraints. No lock is global: a runner frozen inside a transaction holds only its own jobs' rows.
  The table of statements, guards and the races each excludes is in docs/postgres-locking.md.
* Time. Every time the store writes (leases, heartbeats, checkpoints) is on the database server's clock:
  the store's clock is the host's wall clock plus an offset measured against `clock_timestamp()` when it
  connects and at every heartbeat, so two hosts whose clocks disagree still judge leases alike.
* Passing failures. A lost connection (the server restarted), a serialization failure or deadlock
  (40001, 40P01), a server shutting down or out of connections are transient like SQLITE_BUSY: the group
  commit keeps its batch and retries, the next statement reconnects, runners carry on.
* Wake-ups. A submit or a control request sends `NOTIFY jobtui`; a runner's store LISTENs (from its first
  claim on) and wakes the runner at once; the runner's poll stays as the fallback.
* The mark. A `jobtui_meta` table holds ('application', 'jobtui') and the schema version: a database
  holding another application's tables is refused before anything is written, a newer schema is refused
  by an older jobtui, and migrations run under an advisory lock (the only global one left), so two runners
  starting at once do not race.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import asyncpg  # type: ignore[import-untyped]
import platformdirs
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from ..errors import (
    NoDatabaseError,
    NotJobtuiDatabaseError,
    SchemaVersionError,
    StoreError,
)
from ..model import Action, JobId
from .api import ApiQueries
from .base import StoreCore
from .control import ControlQueries
from .deps import DependencyQueries
from .detail import DetailQueries
from .fleet import FleetQueries
from .jobs import JobQueries
from .listing import ListingQueries
from .meta import MetaQueries
from .notify import NotifyQueries
from .pg_connection import (
    _DRIVER_ERRORS,
    IDLE_IN_TRANSACTION_MS,
    DbClock,
    PgConnection,
    PgStoreError,
    _describe,
    _shown,
    is_transient_pg_error,
)
from .processes import ProcessRecords
from .queues import QueueQueries
from .records import Claimed, ControlResult, NewJob
from .retention import RetentionQueries
from .runs import RunnerWrites
from .schedules import ScheduleQueries
from .schema import MIGRATIONS
from .schema_pg import PG_EXTRA, PG_EXTRA_VERSION, PG_META, PG_MIGRATIONS
from .values import Ahead, DbSize

log = logging.getLogger("jobtui.store.postgres")

LOCK_KEY = 0x6A6F6274
"""The advisory lock of migrations ("jobt", as SQLite's application_id); the job-event trigger takes it at
COMMIT only (schema_pg.PG_EXTRA), so that event ids follow commit order."""
CHANNEL = "jobtui"
"""The LISTEN/NOTIFY channel of submits and control requests."""
APPLICATION = "jobtui"

def _absolute(path: str | Path) -> Path:
    """Return a path made absolute (`~` expanded); no I/O."""
    return Path(path).expanduser().absolute()


def _default_workspace_root(url: str) -> Path:
    """Return where a PostgreSQL database's job workspaces go by default: the user-data folder, one per database."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "local"
    db = parts.path.lstrip("/") or parts.username or "postgres"
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{host}-{parts.port or 5432}-{db}")
    return platformdirs.user_data_path("jobtui", appauthor=False) / "workspaces" / name


class PgCore(StoreCore):
    """The PostgreSQL side of the store's core: connect, check the mark, migrate, listen."""

    def __init__(self, conn: PgConnection, url: str, clock: Callable[[], int], options: dict[str, Any]) -> None:
        super().__init__(conn, Path("postgresql"), clock)
        self._pg = conn
        self._url = url
        self._options = options
        self._listener: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------------------------- identity
    @property
    def location(self) -> str:
        """Where the data is, fit to show: the URL with its password blanked."""
        return _shown(self._url)

    @property
    def workspace_root(self) -> Path:
        """The folder of the jobs' workspaces: the option given to open(), else `$JOBTUI_WORKSPACES`, else a
        folder per database under the user-data folder (`workspaces/HOST-PORT-DB`). Shared only if that
        folder is (a network file system): see the README, "Many machines"."""
        if self._workspace_root is not None:
            return self._workspace_root
        env = os.environ.get("JOBTUI_WORKSPACES", "").strip()
        if env:
            return Path(env).expanduser().absolute()
        return _default_workspace_root(self._url)

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether a StoreError (or its cause) is a passing condition (server gone, serialization, ...)."""
        return is_transient_pg_error(exc)

    def _transient_error(self, exc: BaseException) -> bool:
        return is_transient_pg_error(exc)

    async def reopen(self) -> Self:
        """Open one more store (its own connection) on the same database, with the same options."""
        return await type(self).open(self._url, create=False, **self._options)

    # ----------------------------------------------------------------------------------- open/close
    @classmethod
    async def open(  # type: ignore[override]
        cls,
        url: str | Path,
        *,
        clock: Callable[[], int] | None = None,
        create: bool = True,
        workspace_root: str | Path | None = None,
        connect_timeout_s: float = 10.0,
        **_sqlite_only: Any,
    ) -> Self:
        """Open a jobtui database on a PostgreSQL server, creating its schema (with `create`) or migrating it.

        The database itself must exist (`createdb NAME`); jobtui creates its tables in it. A database
        that holds tables but no jobtui mark is refused before anything is written to it.

        Raises:
            NoDatabaseError: the database does not exist, or holds no jobtui schema and not `create`.
            NotJobtuiDatabaseError: the database holds another application's tables.
            SchemaVersionError: the schema was written by a newer jobtui.
            StoreError: the server is unreachable, refused the credentials, or failed.
        """
        url = str(url)
        shown = _shown(url)
        options: dict[str, Any] = {"connect_timeout_s": connect_timeout_s}
        if workspace_root is not None:
            options["workspace_root"] = workspace_root
        if clock is not None:
            options["clock"] = clock
        db_clock = DbClock()

        async def on_connect(conn: asyncpg.Connection) -> None:
            await db_clock.sync(conn)

        pg = PgConnection(url, timeout_s=connect_timeout_s, on_connect=on_connect)
        try:
            await pg.raw()
        except asyncpg.InvalidCatalogNameError as e:
            text = f"{shown}: {_describe(e)}"
            if create:
                raise StoreError(f"{text} (create it first, e.g. `createdb`)") from None
            raise NoDatabaseError(text) from None
        except asyncpg.InvalidPasswordError as e:
            raise StoreError(f"{shown}: the server refused the credentials ({_describe(e)})") from None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, ValueError) as e:
            raise StoreError(f"{shown}: cannot connect to the database ({_describe(e)})") from None
        store = cls(pg, url, clock if clock is not None else db_clock, options)
        if workspace_root is not None:
            store._workspace_root = _absolute(workspace_root)
        try:
            await store._prepare(create, connect_timeout_s)
        except BaseException:
            await pg.close()
            raise
        return store

    async def _prepare(self, create: bool, within_s: float) -> None:
        """Check and migrate the schema, again on a new connection if the server ended the first one.

        A server restarting (or an administrator ending sessions) while a runner opens its store ends the
        connection under the check; the runner waits it out like any later statement, for up to
        `within_s`, instead of exiting with "cannot prepare the database". A refusal stays at once.
        """
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_transient_pg_error),
            stop=stop_after_delay(within_s), wait=wait_exponential_jitter(multiplier=0.05, max=1.0, jitter=0.05), reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    await self._pg.close()  # the next statement connects again
                    log.warning("%s: preparing the database again after a lost connection", self.location)
                await self._check_and_migrate(create)

    async def _check_and_migrate(self, create: bool) -> None:
        """Refuse a database that is not jobtui's or is newer; create or migrate the schema under the lock."""
        shown = self.location
        try:
            conn = await self._pg.raw()  # connects again after a lost connection (`_prepare`): its errors are ours
            version = await self._marked_version(conn)
            if version == len(MIGRATIONS) and await self._extras_current(conn):
                return
            if version is None and not create:
                raise NoDatabaseError(f"{shown}: no jobtui database here yet (`jobtui run` or `jobtui submit` makes one)")
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
                version = await self._marked_version(conn)  # another jobtui may have done it meanwhile
                if version == len(MIGRATIONS) and await self._extras_current(conn):
                    return
                if version is None:
                    await conn.execute(PG_META)
                    await conn.execute("INSERT INTO jobtui_meta (key, value) VALUES ('application', $1),"
                                       " ('schema_version', '0')", APPLICATION)
                    version = 0
                for n, script in enumerate(PG_MIGRATIONS[version:], start=version + 1):
                    await conn.execute(script)
                    log.info("%s: schema migrated to v%d", shown, n)
                await conn.execute(PG_EXTRA)
                await conn.execute("UPDATE jobtui_meta SET value = $1 WHERE key = 'schema_version'",
                                   str(len(MIGRATIONS)))
                await conn.execute("INSERT INTO jobtui_meta (key, value) VALUES ('pg_extra', $1)"
                                   " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", str(PG_EXTRA_VERSION))
        except _DRIVER_ERRORS as e:
            raise StoreError(f"{shown}: cannot prepare the database ({_describe(e)})") from e

    @staticmethod
    async def _extras_current(conn: asyncpg.Connection) -> bool:
        """Tell whether the PostgreSQL-only tables (schema_pg.PG_EXTRA) are those of this jobtui."""
        value = await conn.fetchval("SELECT value FROM jobtui_meta WHERE key = 'pg_extra'")
        return value is not None and str(value).isdigit() and int(value) >= PG_EXTRA_VERSION

    async def _marked_version(self, conn: asyncpg.Connection) -> int | None:
        """Return the schema version of a jobtui database, None for an empty one; refuse anything else."""
        shown = self.location
        # A catalog query, not to_regclass(): its name lookup may miss a table another session just
        # committed (seen when two runners start at once); a query sees every committed table.
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
                               " AND tablename = 'jobtui_meta')"):
            meta = {r[0]: r[1] for r in await conn.fetch("SELECT key, value FROM jobtui_meta")}
            if meta.get("application") != APPLICATION:
                raise NotJobtuiDatabaseError(f"{shown}: not a jobtui database (its jobtui_meta is another application's)")
            text = meta.get("schema_version", "")
            if not text.isdigit():
                raise NotJobtuiDatabaseError(f"{shown}: not a jobtui database (schema version {text!r})")
            version = int(text)
            if version > len(MIGRATIONS):
                raise SchemaVersionError(
                    f"{shown}: database schema v{version} is newer than this jobtui (v{len(MIGRATIONS)}); upgrade jobtui"
                )
            return version
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename LIMIT 5"
        )
        if tables:
            names = ", ".join(r[0] for r in tables)
            raise NotJobtuiDatabaseError(f"{shown}: not a jobtui database (it holds other tables: {names})")
        return None

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Commit what is queued (within `timeout_s`), stop listening, close the connection."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        await super().close(timeout_s=timeout_s)

    # --------------------------------------------------------------------------------- wake-ups
    async def _notify(self) -> None:
        """Tell every listening runner that something changed (best effort: their poll is the fallback)."""
        try:
            await self._pg.execute(f"SELECT pg_notify('{CHANNEL}', '')")
        except StoreError as e:
            log.debug("notify failed: %s", e)

    def _ensure_listener(self) -> None:
        if self._listener is None and not self._closed:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="jobtui-pg-listen")

    def _woken(self) -> None:
        hook = self.on_wake
        if hook is not None:
            try:
                hook()
            except Exception:
                log.exception("the wake-up handler failed")

    async def _listen(self) -> None:
        """LISTEN on its own connection for as long as the store is open; reconnect when it drops."""
        delay = 0.2
        while not self._closed:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._url, timeout=self._options.get("connect_timeout_s", 10.0))
                gone = asyncio.Event()
                conn.add_termination_listener(lambda _c, ev=gone: ev.set())
                await conn.add_listener(CHANNEL, lambda *_a: self._woken())
                delay = 0.2
                self._woken()  # anything sent while nobody listened is found by the runner's next look
                while not self._closed and not gone.is_set():
                    try:
                        await asyncio.wait_for(gone.wait(), 10.0)
                    except TimeoutError:
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), 10.0)  # a dead socket shows here
            except asyncio.CancelledError:
                raise
            except _DRIVER_ERRORS as e:
                log.debug("listen connection lost (%s); reconnecting", _describe(e))
            finally:
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)


class PgStore(DetailQueries, JobQueries, ControlQueries, RunnerWrites, DependencyQueries, NotifyQueries, ProcessRecords, ScheduleQueries,
              RetentionQueries, FleetQueries, ApiQueries, ListingQueries, MetaQueries, QueueQueries, PgCore):
    """All reads and writes of one jobtui database on a PostgreSQL server."""

    _SYNC_TOKEN = False

    async def add_jobs(self, jobs: Sequence[NewJob], *, source: str = "cli") -> list[JobId]:
        """Insert jobs (queued) with their pending stages; return their ids in order; wake the runners."""
        ids = await super().add_jobs(jobs, source=source)
        if ids:
            await self._notify()
        return ids

    async def add_job_once(
        self, owner: str, key: str | None, fingerprint: str, job: NewJob, *, source: str,
        prepare: Callable[[JobId], Awaitable[None]] | None = None,
    ) -> tuple[JobId, str, bool]:
        """Insert a job unless this owner's key was used (store/api.py); wake the runners when it was inserted."""
        out = await super().add_job_once(owner, key, fingerprint, job, source=source, prepare=prepare)
        if out[2]:
            await self._notify()
        return out

    async def control(
        self, job_id: JobId, action: Action, *, source: str = "cli", to_stage: int | None = None,
        reason: str | None = None,
    ) -> ControlResult:
        """Apply a person's request to a job in one transaction, then wake the runners (the holder acts on it)."""
        result = await super().control(job_id, action, source=source, to_stage=to_stage, reason=reason)
        await self._notify()
        return result

    async def claim(self, runner_id: str, limit: int, types: Iterable[str], ahead: Ahead | None = None
                    ) -> list[Claimed]:
        """Take up to `limit` runnable jobs for this runner (and from now on, listen for wake-ups)."""
        self._ensure_listener()
        return await super().claim(runner_id, limit, types, ahead)

    async def heartbeat(self, runner_id: str) -> bool:
        """Renew a runner's lease (re-measuring the database clock first)."""
        if isinstance(self.clock, DbClock):
            try:
                await self._pg.sync_clock(self.clock)
            except PgStoreError as e:
                raise PgStoreError(f"heartbeat: {e}") from e
        return await super().heartbeat(runner_id)

    async def integrity_check(self) -> str:
        """Return 'ok' when the jobtui mark and every table answer (PostgreSQL checks its own pages)."""
        try:
            conn = await self._pg.raw()
            await self._marked_version(conn)
            for table in ("jobs", "stages", "items", "logs", "requests", "runners"):
                await conn.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS t")
        except _DRIVER_ERRORS as e:
            return _describe(e)
        except StoreError as e:
            return str(e)
        return "ok"

    async def db_size(self) -> DbSize:
        """Return the database's size on the server (free space is the server's to reclaim: 0 here)."""
        row = await self._one("SELECT pg_database_size(current_database())")
        return DbSize(int(row[0]) if row else 0, 0, 0, 8192)

    async def vacuum(self) -> None:
        """Run VACUUM (ANALYZE) on jobtui's tables: dead rows become reusable (the server keeps the files)."""
        await self.commit_point()
        try:
            conn = await self._pg.raw()
            await conn.execute("VACUUM (ANALYZE)")
        except _DRIVER_ERRORS as e:
            raise StoreError(f"VACUUM failed: {_describe(e)}") from e


def _conforms(store: PgStore) -> Any:
    """Never called: mypy checks in store/__init__.py that PgStore keeps the whole contract."""
    return store


__all__ = ["IDLE_IN_TRANSACTION_MS", "PgStore", "PgStoreError", "is_transient_pg_error"]
