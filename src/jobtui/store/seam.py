"""The typed connection seam: the few calls the store's statements make, which both drivers' connections keep.

Every statement of the store is written with `$1, $2, ...` placeholders, which both PostgreSQL and
SQLite accept as they are (SQLite reads `$1` as a parameter named "1": `SqliteDb` binds by those
names, never by position, so a number used twice or out of order binds the right value). No text
of a statement is rewritten at run time: what differs between the dialects is written in each
dialect's module (store/sql_sqlite.py, store/sql_pg.py) and reached through `Db.dialect`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import aiosqlite

from .dialect import Dialect
from .sql_sqlite import SQLITE

Row = tuple[Any, ...]
"""One row of a result, as both drivers' rows are read: by position."""


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
        cur = await self.raw.execute(sql, _named(params))
        return cur.rowcount

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return its rows (tuples: the connection has no row factory)."""
        rows: Iterable[Any] = await self.raw.execute_fetchall(sql, _named(params))
        return list(rows)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        await self.raw.executemany(sql, [_named(r) for r in rows])

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
