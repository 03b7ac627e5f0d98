"""Issue 18, item 5: the items a loop finished at their first attempt (store/done_items.py) become rows when the group
commit takes its batch, stamped then, with the key made fit to store as `item_finished` makes it; a job another
runner took loses them, the other jobs' commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobtui.kinds import StopKind
from jobtui.model import RunnerInfo
from jobtui.store import DoneItems, NewJob, Store


def _rows(db: Path, job: int) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT key, status, result, error, attempts, updated_at_ms FROM items WHERE job_id = ?"
                            " ORDER BY key", (job,)).fetchall()
    finally:
        conn.close()


async def test_done_items_are_rows_of_the_commit_that_takes_them_and_leave_with_a_lost_job(db_path: Path) -> None:
    now = [1_000]
    store = await Store.open(db_path, clock=lambda: now[0])
    try:
        mine, taken = await store.add_jobs([NewJob("t", {"i": i}, ("a",), (1,)) for i in range(2)])
        await store.register_runner(RunnerInfo("me", 1, "h", 0, store.clock(), 1))
        assert len(await store.claim("me", 2, ["t"])) == 2
        told: list[tuple[set[int], StopKind]] = []
        store.fence = "me"
        store.on_dropped = lambda jobs, reason, _error: told.append((jobs, reason))
        ours, theirs = DoneItems(), DoneItems()
        store.items_done(mine, 0, ours)
        store.items_done(taken, 0, theirs)
        for i in range(100):
            ours.add(f"k{i:03d}", {"i": i} if i % 2 else None)
            theirs.add(f"k{i:03d}", i)
        ours.add("é\x00", "x")
        async with store._tx() as db:  # another runner took `taken` meanwhile
            await db.execute("UPDATE jobs SET lease_owner = 'them' WHERE job_id = $1", (taken,))
        now[0] = 2_000  # the group commit takes the batch now
        await store.commit_point()
        rows = _rows(db_path, mine)
        assert len(rows) == 101 and len(ours) == 0 == len(theirs)
        assert rows[0] == ("k000", "done", None, None, 1, 2_000)
        assert rows[1] == ("k001", "done", '{"i":1}', None, 1, 2_000)
        assert rows[-1] == ("é\\x00", "done", '"x"', None, 1, 2_000)  # NUL written visibly, as item_finished does
        assert _rows(db_path, taken) == [] and told == [({taken}, StopKind.LOST)]
        ours.add("late", 1)  # added after its batch was taken, not queued again: no commit carries it
        await store.commit_point()
        assert len(_rows(db_path, mine)) == 101 and len(ours) == 1
        store.items_done(mine, 0, ours)  # queued again (the loop does so whenever `batches` moved)
        await store.commit_point()
        assert {r[0]: r[1] for r in _rows(db_path, mine)}["late"] == "done"
    finally:
        await store.close()
