"""The tests' own SQL on the throwaway PostgreSQL cluster over one kept connection per database (issue 20).

A test that reads the database while runners work (a fault test polls it hundreds of times) used to start
`psql` for every query: a process, a server backend and a password exchange each time (~1,200 process starts in
a suite run). Here each database URL gets one asyncpg connection, kept open on a thread of its own (so the
same call works from a plain test and from inside an async one), and reused; a connection the server ended
(a restart, a forced drop) is opened again on the next query.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")

_LOST = (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.AdminShutdownError,
         asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.InterfaceError, ConnectionError)
"""What a query raises when the connection under it is gone (not the query's own fault)."""

_loop: asyncio.AbstractEventLoop | None = None
_start = threading.Lock()
_conns: dict[str, asyncpg.Connection] = {}
_locks: dict[str, asyncio.Lock] = {}


def _run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Run a coroutine on the connections' thread and return its result."""
    return asyncio.run_coroutine_threadsafe(coro, _thread_loop()).result(timeout)


def _thread_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _start:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="tests-pgconn", daemon=True).start()
            _loop = loop
    return _loop


async def _fetch(url: str, sql: str, *, key: str = "", results: bool = True) -> list[tuple[Any, ...]]:
    """Run SQL on the connection kept under `key` (the URL by default); one query at a time on each."""
    key = key or url
    async with _locks.setdefault(key, asyncio.Lock()):
        for attempt in (1, 2):
            con = _conns.get(key)
            if con is None or con.is_closed():
                con = _conns[key] = await asyncpg.connect(url)
            try:
                if not results:
                    await con.execute(sql)  # the simple protocol: several statements, or one outside a transaction
                    return []
                return [tuple(r) for r in await con.fetch(sql)]
            except _LOST:
                _conns.pop(key, None)
                con.terminate()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one query (no parameters) on a database; return its rows, each a tuple of Python values."""
    return _run(_fetch(url, sql))


def execute(url: str, sql: str) -> None:
    """Run statements (no parameters, no results: CREATE DATABASE, several at once) on a database."""
    _run(_fetch(url, sql, results=False))


async def _forget(url: str) -> None:
    con = _conns.pop(url, None)
    if con is not None and not con.is_closed():
        await con.close(timeout=10)


def forget(url: str) -> None:
    """Close the connection kept to a database (before it is dropped)."""
    if url in _conns:
        _run(_forget(url))


def execute_soon(url: str, sql: str) -> None:
    """Run statements in the background on a connection of their own (the outcome unread: a cleanup that may take
    a moment on a loaded machine, and holds up no other query)."""
    future = asyncio.run_coroutine_threadsafe(_fetch(url, sql, key=url + "#soon", results=False), _thread_loop())
    future.add_done_callback(lambda f: f.exception())  # read, so an error is never reported as unretrieved
