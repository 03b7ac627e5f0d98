"""The typed connection seam: the few calls the store's statements make, which both drivers' connections keep.

Every statement of the store is written with `$1, $2, ...` placeholders, which both PostgreSQL and
SQLite accept as they are (SQLite reads `$1` as a parameter named "1": `SqliteDb` binds by those
names, never by position, so a number used twice or out of order binds the right value). No text
of a statement is rewritten at run time: what differs between the dialects is written in each
dialect's module (store/sql_sqlite.py, store/sql_pg.py) and reached through `Db.dialect`.

The one exception is SQLite's hottest statement, the item upsert (`Dialect.item_sql`): SQLite's own
text of it has numbered placeholders (`?1, ?2, ...`), bound by position (no dict per row), and
`SqliteDb.executemany` runs many rows of such an INSERT as one statement of `ROWS_PER_STATEMENT`
rows: one step of SQLite per chunk, so aiosqlite's thread takes Python's GIL once per chunk, not once
per row, while the event loop's thread runs the next items.

A write transaction is a `Body`: an async function of a Db that awaits nothing but its statements.
`SqliteDb.atomically` runs a body's BEGIN ... COMMIT in one call on aiosqlite's thread: the event loop
it was called from may be blocked meanwhile (a TUI drawing a large frame, with the runner embedded in
it), and SQLite's write lock, which every process shares, is still held only as long as the statements.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any, Protocol, TypeVar, cast

import aiosqlite

from .dialect import Dialect
from .sql_sqlite import SQLITE

Row = tuple[Any, ...]
"""One row of a result, as both drivers' rows are read: by position."""
T = TypeVar("T")


class Db(Protocol):
    """A connection to one jobtui database, one statement at a time (SqliteDb, pg_connection.PgConnection)."""

    @property
    def dialect(self) -> Dialect:
        """The statements and fragments of SQL that this backend writes its own way."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return how many rows it changed (-1 when the driver cannot tell)."""
        ...

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return its rows."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        ...

    async def begin(self) -> None:
        """Open a write transaction (each backend documents its isolation and locks)."""
        ...

    async def commit(self) -> None:
        """Commit the open transaction."""
        ...

    async def rollback(self) -> None:
        """Roll back the open transaction."""
        ...

    async def close(self) -> None:
        """Close the connection."""
        ...


Body = Callable[[Db], Coroutine[Any, Any, T]]
"""A write transaction's statements: an async function of the connection that awaits only the connection."""


class Params:
    """The parameters of a statement built piece by piece: `add` returns the next `$n` for a value."""

    __slots__ = ("values",)

    def __init__(self, *first: Any) -> None:
        self.values: list[Any] = list(first)

    def add(self, value: Any) -> str:
        """Append a value and return its placeholder."""
        self.values.append(value)
        return f"${len(self.values)}"


_NAMES = tuple(str(i) for i in range(1, 65))


def _named(params: Sequence[Any]) -> dict[str, Any]:
    """Return positional parameters as SQLite's named ones: `$1` is the parameter named "1"."""
    if len(params) <= len(_NAMES):
        return dict(zip(_NAMES, params, strict=False))
    return {str(i): v for i, v in enumerate(params, 1)}


ROWS_PER_STATEMENT = 64
"""Rows of an INSERT with numbered placeholders run as one statement by `SqliteDb.executemany`."""

_OUTSIDE_QUOTES = re.compile(r"'[^']*'")
_NUMBERED = re.compile(r"\?(\d+)")
_INSERT_VALUES = re.compile(r"(?P<head>INSERT INTO [^;]*? )VALUES \((?P<row>[^()']*)\)(?P<tail>[^?$]*)", re.S)


@lru_cache(maxsize=256)
def by_position(sql: str) -> bool:
    """Tell whether a statement is written with SQLite's numbered placeholders (`?1`), bound by position."""
    return _NUMBERED.search(_OUTSIDE_QUOTES.sub("", sql)) is not None


@lru_cache(maxsize=16)
def rows_statement(sql: str, rows: int) -> str | None:
    """Return an `INSERT ... VALUES (?1, ...) tail` of numbered placeholders as one statement of `rows` rows.

    Row j's placeholders are numbered on from row j-1's, so the rows' parameters are bound flattened,
    in order; each row is inserted (or upserted) as if by a statement of its own, in order. None when
    `sql` is not such an INSERT (its row has anything but placeholders, or its tail a parameter).
    """
    m = _INSERT_VALUES.fullmatch(sql)
    if m is None:
        return None
    numbers = [int(n) for n in _NUMBERED.findall(m["row"])]
    width = len(numbers)
    if sorted(numbers) != list(range(1, width + 1)):
        return None
    values = ", ".join(f"({_renumbered(m['row'], j * width)})" for j in range(rows))
    return f"{m['head']}VALUES {values}{m['tail']}"


def _renumbered(text: str, offset: int) -> str:
    """Return `text` with each numbered placeholder `?n` as `?(n + offset)`."""
    return _NUMBERED.sub(lambda p: f"?{int(p[1]) + offset}", text)


def _bound(sql: str, params: Sequence[Any]) -> Sequence[Any] | dict[str, Any]:
    """Return a statement's parameters as SQLite binds them: by position (`?N`) or by name (`$N`)."""
    return params if by_position(sql) else _named(params)


def _statements(sql: str, rows: Iterable[Sequence[Any]]) -> list[tuple[str, list[Any]]]:
    """Return the (statement, parameter rows) that run `sql` once per row: an INSERT of `?N` placeholders takes
    `ROWS_PER_STATEMENT` rows per statement."""
    if not by_position(sql):
        return [(sql, [_named(r) for r in rows])]
    batch = rows if isinstance(rows, list) else list(rows)
    out: list[tuple[str, list[Any]]] = []
    k = ROWS_PER_STATEMENT
    if len(batch) >= k and (many := rows_statement(sql, k)) is not None:
        whole = len(batch) - len(batch) % k
        out.append((many, [list(chain.from_iterable(batch[i:i + k])) for i in range(0, whole, k)]))
        batch = batch[whole:]
    if batch:
        out.append((sql, batch))
    return out


class SqliteDb:
    """An aiosqlite connection behind the seam. `begin` is `BEGIN IMMEDIATE`: SQLite's one writer at a time
    (serializable: every transaction of every process sees all that committed before it)."""


    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.raw = conn

    @property
    def dialect(self) -> Dialect:
        """SQLite's statements."""
        return SQLITE

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        cur = await self.raw.execute(sql, _bound(sql, params))
        return cur.rowcount

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return its rows (tuples: the connection has no row factory)."""
        rows: Iterable[Any] = await self.raw.execute_fetchall(sql, _bound(sql, params))
        return list(rows)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters (an INSERT of `?N` placeholders: many rows per statement)."""
        for statement, params in _statements(sql, rows):
            await self.raw.executemany(statement, params)

    async def begin(self) -> None:
        """BEGIN IMMEDIATE: take SQLite's write lock now (busy_timeout waits for it)."""
        await self.raw.execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        """COMMIT."""
        await self.raw.execute("COMMIT")

    async def rollback(self) -> None:
        """ROLLBACK."""
        await self.raw.execute("ROLLBACK")

    async def close(self) -> None:
        """Close the connection (and aiosqlite's thread)."""
        await self.raw.close()

    async def atomically(self, body: Body[T]) -> T:
        """Run `body` in one BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it raises), all in one call on aiosqlite's
        thread: the write lock is never held while this event loop is busy elsewhere. Should the caller be
        cancelled meanwhile, the call still runs to its end (committed or rolled back) on that thread."""
        # aiosqlite's own way of running a function on its thread (what its cursors use): no public equivalent.
        run = cast("Callable[..., Awaitable[T]]", self.raw._execute)
        return await run(_in_one_call, self.raw, body)


def _in_one_call(raw: aiosqlite.Connection, body: Body[T]) -> T:
    """On aiosqlite's thread: BEGIN IMMEDIATE, drive `body` to its end against the bare connection, COMMIT."""
    conn = raw._conn  # on its own thread, as aiosqlite's functions use it
    conn.execute("BEGIN IMMEDIATE")
    try:
        steps = body(ThreadDb(conn))
        try:
            steps.send(None)
        except StopIteration as done:
            result: T = done.value
        else:
            steps.close()
            raise RuntimeError("a transaction body awaited something other than its statements")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


class ThreadDb:
    """The seam over a bare sqlite3 connection, on its own thread: each call finishes before it returns, so a
    body awaiting only these never suspends."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        """SQLite's statements."""
        return SQLITE

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        return self._conn.execute(sql, _bound(sql, params)).rowcount

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return its rows."""
        return list(self._conn.execute(sql, _bound(sql, params)).fetchall())

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters (as SqliteDb.executemany: many rows per INSERT of `?N`)."""
        for statement, params in _statements(sql, rows):
            self._conn.executemany(statement, params)

    async def begin(self) -> None:
        """Refuse: the body already runs in its transaction."""
        raise RuntimeError("a transaction body cannot open another")

    async def commit(self) -> None:
        """Refuse: the transaction commits when the body returns."""
        raise RuntimeError("a transaction body cannot commit itself")

    async def rollback(self) -> None:
        """Refuse: the transaction rolls back when the body raises."""
        raise RuntimeError("a transaction body rolls back by raising")

    async def close(self) -> None:
        """Refuse: the connection is the store's."""
        raise RuntimeError("a transaction body cannot close the connection")
