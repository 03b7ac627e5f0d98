"""Issue 6, item 7: the claim query walks the `jobs_claim` index; its cost does not grow with the queue."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobtui.builtins import default_registry
from jobtui.client import Client, Submission
from jobtui.store import Store
from jobtui.store.runs import claim_sql
from jobtui.store.sql_sqlite import SQLITE


def _plan(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("EXPLAIN QUERY PLAN " + claim_sql(SQLITE), {"1": "r", "2": 1, "3": '["demo"]', "4": 4, "5": "[]"}).fetchall()
    finally:
        con.close()
    return [r[3] for r in rows]


async def test_claim_plan_uses_the_index_and_no_full_scan(store: Store, db_path: Path) -> None:
    """An OR on status made SQLite read and sort every queued row (~26 ms per claim at 50k queued)."""
    client = Client(store, default_registry())
    await client.submit_many([Submission("demo", {"delay": 0}) for _ in range(50)])
    plan = _plan(db_path)
    searches = [p for p in plan if p.startswith(("SEARCH jobs", "SCAN jobs"))]
    assert searches, plan
    assert all("USING INDEX jobs_claim (status=?)" in p for p in searches), plan
    assert not any("MULTI-INDEX OR" in p for p in plan), plan
    # The only sort is of the few rows the two limited walks return, outside them.
    assert not any(p.startswith("SCAN jobs") for p in plan), plan


async def test_claim_order_across_queued_and_waiting_retry(store: Store) -> None:
    """The merged walks keep the claim order: priority, then age, over both runnable statuses."""
    client = Client(store, default_registry())
    ids = await client.submit_many(
        [Submission("demo", {"delay": 0}, priority=p) for p in (0, 5, 0, 9)]
    )
    # Make the job of priority 5 a due waiting_retry, and the second priority-0 job not yet due.
    async with store._tx() as db:
        await db.execute("UPDATE jobs SET status = 'waiting_retry', next_retry_at_ms = 0 WHERE job_id = $1", (ids[1],))
        await db.execute("UPDATE jobs SET run_at_ms = $1 WHERE job_id = $2", (store.clock() + 3_600_000, ids[2]))
    got = await store.claim("r1", 10, ["demo"])
    assert [c.job.job_id for c in got] == [ids[3], ids[1], ids[0]]
    assert await store.claim("r1", 10, ["demo"]) == []
    assert await store.claim("r1", 10, ["other"]) == []


async def test_an_unreadable_queued_job_fails_alone_and_the_others_run(store: Store, db_path: Path) -> None:
    """Issue 6, item 4: a job row jobtui never wrote failed every claim, so the runner ran nothing at all."""
    from tests.conftest import run_idle

    client = Client(store, default_registry())
    ids = await client.submit_many([Submission("demo", {"delay": 0, "items": 0}) for _ in range(3)])
    async with store._tx() as db:
        await db.execute("UPDATE jobs SET params = '{not json' WHERE job_id = $1", (ids[1],))
    await run_idle(client, timeout=60)
    con = sqlite3.connect(db_path)
    try:
        rows = dict(con.execute("SELECT job_id, status FROM jobs").fetchall())
        error = con.execute("SELECT error_message FROM jobs WHERE job_id = ?", (ids[1],)).fetchone()[0]
    finally:
        con.close()
    assert rows == {ids[0]: "completed", ids[1]: "failed", ids[2]: "completed"}
    assert "unreadable" in error
