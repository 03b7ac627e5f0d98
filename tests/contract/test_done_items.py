"""Issue 18, item 5, on every backend: the items a loop finished at their first attempt (store/done_items.py) become
rows when the group commit takes its batch, stamped then, with the key made fit to store as `item_finished` makes
it (SQLite: statements of many rows, PostgreSQL: its item rows); a job another runner took loses them, the other
jobs' commit."""

from __future__ import annotations

import sqlite3
from typing import Any

from jobtui.kinds import StopKind
from jobtui.model import RunnerInfo
from jobtui.store import DoneItems, JobStore
from tests.contract.conftest import Backend, OpenStore, new_job


async def _rows(store: JobStore, job: int) -> dict[str, tuple[Any, ...]]:
    return {r.key: (r.status.value, r.result, r.error, r.attempts, r.updated_at_ms) async for r in store.items(job)}


def _take_lease(backend: Backend, job: int) -> None:
    """Another runner took `job` meanwhile (its lease is theirs now)."""
    sql = f"UPDATE jobs SET lease_owner = 'them' WHERE job_id = {int(job)}"
    if backend.name == "postgres":
        backend.psql(sql)
        return
    conn = sqlite3.connect(backend.target)
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


async def test_done_items_are_rows_of_the_commit_that_takes_them_and_leave_with_a_lost_job(
    backend: Backend, open_store: OpenStore
) -> None:
    now = [1_000]
    store = await open_store(clock=lambda: now[0])
    mine, taken = await store.add_jobs([new_job(stages=("a",)), new_job(stages=("a",))])
    await store.register_runner(RunnerInfo("me", 1, "h", 0, store.clock(), 1))
    assert len(await store.claim("me", 2, ["t"])) == 2
    told: list[tuple[set[int], StopKind]] = []
    store.fence = "me"  # type: ignore[attr-defined]
    store.on_dropped = lambda jobs, reason, _error: told.append((jobs, reason))  # type: ignore[attr-defined]
    ours, theirs = DoneItems(), DoneItems()
    store.items_done(mine, 0, ours)
    store.items_done(taken, 0, theirs)
    for i in range(300):  # on SQLite, statements of 256, 32, 8 and 4 rows, and the last one alone
        ours.add(f"k{i:03d}", {"i": i} if i % 2 else None)
        theirs.add(f"k{i:03d}", i)
    ours.add("é\x00", "x")
    _take_lease(backend, taken)
    now[0] = 2_000  # the group commit takes the batch now
    await store.commit_point()
    rows = await _rows(store, mine)
    assert len(rows) == 301 and len(ours) == 0 == len(theirs)
    assert rows["k000"] == ("done", None, None, 1, 2_000)
    assert rows["k299"] == ("done", {"i": 299}, None, 1, 2_000)
    assert rows["é\\x00"] == ("done", "x", None, 1, 2_000)  # NUL written visibly, as item_finished does
    assert await _rows(store, taken) == {} and told == [({taken}, StopKind.LOST)]
    ours.add("late", 1)  # added after its batch was taken, not queued again: no commit carries it
    await store.commit_point()
    assert len(await _rows(store, mine)) == 301 and len(ours) == 1
    store.items_done(mine, 0, ours)  # queued again (the loop does so whenever `batches` moved)
    await store.commit_point()
    assert (await _rows(store, mine))["late"][:2] == ("done", 1)
