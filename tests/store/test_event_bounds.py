"""Issue 18, item 3: the event log's bounds are read from the ends of its key, not by scanning every event."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobtui.builtins import default_registry
from jobtui.client import Client, Submission
from jobtui.store import Store


async def test_event_bounds_reads_both_ends_of_the_key_without_a_scan(store: Store, db_path: Path) -> None:
    """`SELECT min(event_id), max(event_id)` scanned every event (SQLite's min/max shortcut takes one aggregate):
    28 ms at 120,000 events, twice in the TUI's first load and in every server's SSE start."""
    client = Client(store, default_registry())
    ids = await client.submit_many([Submission("demo", {"delay": 0}) for _ in range(20)])
    run: list[str] = []
    raw = store._conn.raw  # type: ignore[attr-defined]
    await raw._execute(lambda: raw._conn.set_trace_callback(run.append))  # on the connection's own thread
    first, last = await store.event_bounds()
    await raw._execute(lambda: raw._conn.set_trace_callback(None))
    assert last - first == len(ids)
    assert run, "no statement seen"
    con = sqlite3.connect(db_path)
    try:
        plans = {sql: [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql).fetchall()] for sql in run}
    finally:
        con.close()
    assert not any(p.startswith("SCAN job_events") for plan in plans.values() for p in plan), plans
