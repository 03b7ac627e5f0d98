"""Issue 20: a write transaction never holds SQLite's write lock while its event loop is busy elsewhere.

With the runner inside the TUI, a frame that takes seconds to draw blocks the loop the runner's store
awaits on. A transaction whose statements were awaited one by one kept the write lock for as long: every
other process (the lease keeper's own connection, other runners, the CLI) got "database is locked"
(test_embedded_runner_keeps_its_lease_while_the_ui_is_busy failed 7 of 20 runs under load). Here the loop
is blocked, by a real blocking write from another connection, once the store's BEGIN has taken the lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from jobtui.model import Action, RunnerInfo
from jobtui.store import NewJob, Store
from jobtui.store.seam import SqliteDb

WAIT_S = 2.0
"""How long the other connection waits for the write lock (the store's statements take milliseconds)."""


def _write_elsewhere(db: Path) -> str | None:
    """Write a row from another connection, blocking this thread (the event loop) meanwhile; return the error."""
    con = sqlite3.connect(db, timeout=WAIT_S, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE runners SET concurrency = concurrency WHERE runner_id = 'other'")
        con.execute("COMMIT")
        return None
    except sqlite3.OperationalError as e:
        return str(e)
    finally:
        con.close()


async def _with_the_loop_blocked_inside(store: Store, db: Path, op: Callable[[], Awaitable[object]]) -> list[str | None]:
    """Run `op`; in each write transaction of the store's connection, once its BEGIN has taken the write lock
    (at the statement after it), block the event loop with a write elsewhere."""
    loop = asyncio.get_running_loop()
    outcomes: list[str | None] = []
    began = False

    def traced(statement: str) -> None:  # on the connection's thread
        nonlocal began
        if statement.startswith("BEGIN"):
            began = True
        elif began:
            began = False
            loop.call_soon_threadsafe(lambda: outcomes.append(_write_elsewhere(db)))

    assert isinstance(store._conn, SqliteDb)
    await store._conn.raw.set_trace_callback(traced)
    try:
        await op()
    finally:
        await store._conn.raw.set_trace_callback(None)
    await asyncio.sleep(0)  # sleep: yield once, so that a write scheduled by the last BEGIN has run
    return outcomes


async def _ready(store: Store) -> int:
    [job] = await store.add_jobs([NewJob("t", {}, ("a",), (1,))])
    await store.register_runner(RunnerInfo("me", 1, "h", 0, store.clock(), 1))
    return job


async def _group_commit(store: Store, job: int) -> object:
    await store.claim("me", 1, ["t"])
    for i in range(20):
        store.log(job, "info", f"line {i}")
    return await store.commit_point()


OPS: dict[str, Callable[[Store, int], Awaitable[object]]] = {
    "group commit": _group_commit,
    "claim": lambda store, _job: store.claim("me", 1, ["t"]),
    "heartbeat": lambda store, _job: store.heartbeat("me"),
    "pause request": lambda store, job: store.control(job, Action.PAUSE),
    "recovery": lambda store, _job: store.recover(self_id="me", ttl_ms=0, is_dead=lambda _r: True),
}


@pytest.mark.parametrize("op", list(OPS))
async def test_a_blocked_event_loop_does_not_hold_the_write_lock(store: Store, db_path: Path, op: str) -> None:
    job = await _ready(store)
    outcomes = await _with_the_loop_blocked_inside(store, db_path, lambda: OPS[op](store, job))
    assert outcomes, "the store ran a write transaction"
    assert outcomes == [None] * len(outcomes), f"another connection could not write: {outcomes}"
