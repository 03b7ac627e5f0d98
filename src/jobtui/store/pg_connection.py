"""The PostgreSQL connection behind the store's seam (store/seam.py `Db`): asyncpg, READ COMMITTED, reconnects,
the commit token for a COMMIT whose answer was lost, and which of the server's errors pass.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from ..errors import (
    StoreError,
)
from ..redaction import redact
from .dialect import Dialect
from .pg_bulk import BULK
from .seam import Row
from .sql_pg import PG

log = logging.getLogger("jobtui.store.postgres")

_TRANSIENT_STATES = ("40001", "40P01", "55P03", "57P01", "57P02", "57P03", "25P03")
"""Serialization failure, deadlock, lock not available, admin/crash shutdown, cannot connect now, and the
server ending a session left idle inside a transaction (IDLE_IN_TRANSACTION_MS)."""
IDLE_IN_TRANSACTION_MS = 5000
"""The server ends a session idle inside a transaction this long (`idle_in_transaction_session_timeout`).

A runner frozen (SIGSTOP, a suspended VM) in the middle of a write transaction would otherwise hold the
row locks of its own jobs (nobody else's: there is no global lock) until it wakes, and so a control
request or the recovery of those jobs would wait; instead the server ends its session, its locks are
released, the others recover its jobs when its lease expires, and the woken runner reconnects and finds
its writes fenced. Found by tests/pg/test_fleet_faults.py."""
_TRANSIENT_CLASSES = ("08", "53")
"""Connection exceptions; insufficient resources (too many connections, disk full, out of memory)."""


def _shown(url: str) -> str:
    return str(redact(url))


_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
"""What the driver raises: wrapped as PgStoreError at the store's boundary."""


class PgStoreError(StoreError):
    """A PostgreSQL error, with the driver's exception as its cause."""


def is_transient_pg_error(exc: BaseException | None) -> bool:
    """Tell whether a PostgreSQL or connection error is a passing condition worth waiting out."""
    seen = 0
    while exc is not None and seen < 4:
        if isinstance(exc, asyncpg.PostgresError):
            state = str(getattr(exc, "sqlstate", "") or "")
            if state in _TRANSIENT_STATES or state[:2] in _TRANSIENT_CLASSES:
                return True
        if isinstance(exc, (asyncpg.exceptions.ConnectionDoesNotExistError, ConnectionError, TimeoutError, OSError)):
            return True
        if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
            return True
        if isinstance(exc, asyncpg.InternalClientError):
            return True  # the protocol's state broke with the connection (seen at a server restart)
        if isinstance(exc, asyncpg.InvalidCachedStatementError):
            return True  # a newer jobtui migrated the schema under us: the next try prepares it again
        exc = exc.__cause__
        seen += 1
    return False


def _lost_connection(exc: BaseException) -> bool:
    """Tell whether an error means the connection itself is gone (reconnect before the next statement)."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state[:2] == "08" or state in ("57P01", "57P02", "57P03", "25P03")
    return isinstance(exc, (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.InternalClientError,
                            ConnectionError, OSError, TimeoutError)) \
        or (isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


class DbClock:
    """Epoch ms on the database server's clock: the host's wall clock plus a measured offset."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    async def sync(self, conn: asyncpg.Connection) -> None:
        """Measure the offset against `clock_timestamp()` (the midpoint of the round trip)."""
        t0 = time.time()
        server = await conn.fetchval("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
        t1 = time.time()
        self.offset_ms = int(server) - int((t0 + t1) / 2 * 1000)


def _rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1] if status else ""
    return int(tail) if tail.isdigit() else -1


class PgConnection:
    """One asyncpg connection behind the store's connection seam (store/seam.py `Db`).

    Statements run as written, one at a time (as aiosqlite's thread does). `begin` opens a transaction
    at READ COMMITTED (no lock: each statement guards itself). A lost connection is re-opened by the next statement; a
    transaction it broke fails every statement until its ROLLBACK.
    """

    def __init__(self, dsn: str, *, timeout_s: float = 10.0,
                 on_connect: Callable[[asyncpg.Connection], Awaitable[None]] | None = None) -> None:
        self._dsn = dsn
        self._timeout_s = timeout_s
        self._on_connect = on_connect
        self._conn: asyncpg.Connection | None = None
        self._op = asyncio.Lock()
        self._tx: str | None = None
        """None, 'open', or 'broken' (the connection was lost inside it)."""
        self._commits = 0
        self.connects = 0
        self.bulk = True
        """Run the statements that have a form for many rows (store/pg_bulk.py) in that form."""
        self.bulk_runs: Counter[str] = Counter()
        """How many times each statement ran in its form for many rows (for tests and benchmarks)."""

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        self._conn = None
        conn = await asyncpg.connect(
            self._dsn, timeout=self._timeout_s, command_timeout=None,
            server_settings={"idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS)},
        )
        try:
            if self._on_connect is not None:
                await self._on_connect(conn)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self.connects += 1
        if self.connects > 1:
            log.warning("reconnected to the database")
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
        if self._tx == "open":
            self._tx = "broken"

    def _wrap(self, exc: BaseException) -> PgStoreError:
        if _lost_connection(exc):
            self._drop()
        err = PgStoreError(_describe(exc))
        err.__cause__ = exc
        return err

    @property
    def dialect(self) -> Dialect:
        """PostgreSQL's statements (store/sql_pg.py)."""
        return PG

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return how many rows it changed (from the server's command tag)."""
        async with self._op:
            if self._tx == "broken":
                raise PgStoreError("the connection to the database was lost inside this transaction")
            try:
                conn = await self._connection()
                return _rowcount(await conn.execute(sql, *params))
            except _DRIVER_ERRORS as e:
                raise self._wrap(e) from e

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return its rows."""
        async with self._op:
            if self._tx == "broken":
                raise PgStoreError("the connection to the database was lost inside this transaction")
            try:
                conn = await self._connection()
                return [tuple(r) for r in await conn.fetch(sql, *params)]
            except _DRIVER_ERRORS as e:
                raise self._wrap(e) from e

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters: as one statement over arrays where it has such a
        form (store/pg_bulk.py), else row by row in one pipelined round trip."""
        batch = rows if isinstance(rows, list) else list(rows)
        if not batch:
            return
        bulk = BULK.get(sql) if self.bulk and len(batch) > 1 else None
        columns = bulk.columns(batch) if bulk is not None else None
        async with self._op:
            if self._tx == "broken":
                raise PgStoreError("the connection to the database was lost inside this transaction")
            try:
                conn = await self._connection()
                if bulk is not None and columns is not None:
                    await conn.execute(bulk.sql, *columns)
                    self.bulk_runs[sql] += 1
                else:
                    await conn.executemany(sql, batch)
            except _DRIVER_ERRORS as e:
                raise self._wrap(e) from e

    async def begin(self) -> None:
        async with self._op:
            if self._tx is not None:
                raise PgStoreError("a transaction is already open on this connection")
            try:
                conn = await self._connection()
                await conn.execute("BEGIN")
                self._tx = "open"
            except _DRIVER_ERRORS as e:
                raise self._wrap(e) from e

    async def commit(self) -> None:
        async with self._op:
            state, self._tx = self._tx, None
            if state == "broken":
                raise PgStoreError("the connection to the database was lost inside this transaction")
            if state is None or self._conn is None:
                return
            conn = self._conn
            token = secrets.randbits(63)
            now = int(time.time() * 1000)
            self._commits += 1
            # The token tells, after a connection lost with COMMIT's answer, whether it committed. It goes with
            # the COMMIT in one round trip (the simple query protocol: statements in order, the rest skipped
            # after an error); both values are integers made here, written into the text.
            sql = f"INSERT INTO jobtui_commits (token, at_ms) VALUES ({int(token)}, {now}); COMMIT"
            if self._commits % 500 == 0:
                sql = f"DELETE FROM jobtui_commits WHERE at_ms < {now - 3_600_000}; {sql}"
            try:
                await conn.execute(sql)
            except _DRIVER_ERRORS as e:
                if not _lost_connection(e):
                    # Refused (the token's insert, or COMMIT's deferred checks): whatever is left of it is undone.
                    await self._abandon(conn)
                    raise self._wrap(e) from e
                self._drop()
                if not await self._committed(token):
                    raise self._wrap(e) from e
                log.warning("the connection was lost with COMMIT's answer; the transaction had committed")

    async def _abandon(self, conn: asyncpg.Connection) -> None:
        """Roll back what is left of a transaction whose commit was refused (nothing, if COMMIT itself failed)."""
        try:
            await conn.execute("ROLLBACK")
        except _DRIVER_ERRORS:
            self._drop()

    async def _committed(self, token: int, *, within_s: float = 60.0) -> bool:
        """Tell whether the transaction of `token` committed, asking again until the server answers.

        Retried rather than guessed: a group commit or a claim applied but reported as failed would be
        applied twice, or leave a job held by a runner that does not run it. If the server stays away
        for `within_s`, say so and answer False (the caller retries the writes; at worst a log line or
        an attempt count repeats).
        """
        end = time.monotonic() + within_s
        delay = 0.1
        while True:
            try:
                conn = await self._connection()
                return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM jobtui_commits WHERE token = $1)",
                                                token))
            except _DRIVER_ERRORS as e:
                self._drop()
                if time.monotonic() > end:
                    log.error("cannot tell whether a transaction committed (%s); retrying its writes", _describe(e))
                    return False
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)

    async def rollback(self) -> None:
        """Roll back the open transaction, if any; never raises (a lost connection rolled it back already)."""
        async with self._op:
            state, self._tx = self._tx, None
            if state != "open" or self._conn is None:
                return
            try:
                await self._conn.execute("ROLLBACK")
            except _DRIVER_ERRORS as e:
                log.debug("rollback failed: %s", e)
                self._drop()
                self._tx = None

    async def sync_clock(self, clock: DbClock) -> None:
        """Measure the database clock on this connection, one operation at a time like every statement.

        (Run beside a statement, e.g. the writer waiting for the advisory lock, asyncpg refuses it with
        "another operation is in progress", and the statement it collided with fails too.)
        """
        async with self._op:
            try:
                await clock.sync(await self._connection())
            except _DRIVER_ERRORS as e:
                raise self._wrap(e) from e

    async def raw(self) -> asyncpg.Connection:
        """Return the live asyncpg connection (connecting if needed), for the store's own statements."""
        return await self._connection()

    async def close(self) -> None:
        """Close the connection (gracefully; terminated if the server does not answer)."""
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), 5.0)
        except _DRIVER_ERRORS:
            conn.terminate()
