"""An items loop queues its counters and progress once per group commit (engine/items.py): every commit still
carries counters equal to the item rows it commits, also when a commit fails for a while and its batch is put back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jobtui import Context, JobType, Runner, Stage
from jobtui.model import JobStatus
from jobtui.store import Store
from tests.conftest import make_client
from tests.store_inspect import Executemany, replace_executemany

ITEMS = 600


def disk_full() -> sqlite3.OperationalError:
    e = sqlite3.OperationalError("database or disk is full")
    e.sqlite_errorcode = 13  # type: ignore[attr-defined]
    return e


async def test_every_commit_counts_exactly_the_items_it_holds(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def work(ctx: Context) -> int:
        async def one(i: int) -> int:
            if i % 40 == 39:
                await asyncio.sleep(0.03)  # sleep: the group commit takes (and fails, and puts back) a batch mid-loop
            return i

        n = 0
        async for _ in ctx.items(range(ITEMS), one):
            n += 1
        return n

    client = make_client(store, JobType("w", [Stage(work)]))
    job = await client.submit("w")
    seen: list[tuple[int, int, int]] = []
    failures = [0]

    async def executemany(real: Executemany, sql: str, rows: Any) -> None:
        # The 2nd to 4th item batches fail as a full disk does: their batch is put back and retried, while the
        # loop goes on queueing items behind it.
        if sql.startswith("INSERT INTO items"):
            failures[0] += 1
            if 2 <= failures[0] <= 4:
                raise disk_full()
        await real(sql, rows)

    real_atomically = store._conn.atomically

    async def atomically(body: Any) -> Any:
        result = await real_atomically(body)  # committed: read what another connection sees now
        reader = sqlite3.connect(db_path)
        try:
            done = reader.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0]
            stage = reader.execute("SELECT coalesce(sum(items_done), 0) FROM stages").fetchone()[0]
            counted = reader.execute("SELECT items_done FROM jobs").fetchone()[0]
        finally:
            reader.close()
        seen.append((done, stage, counted))
        return result

    replace_executemany(monkeypatch, executemany)
    monkeypatch.setattr(store._conn, "atomically", atomically)
    runner = Runner(store, client.registry, concurrency=1, poll_s=0.05)
    await asyncio.wait_for(runner.run(exit_when_idle=True), 60)
    assert (await client.detail(job)).job.status is JobStatus.COMPLETED
    assert failures[0] > 4, "batches failed mid-loop and were retried"
    with_items = [s for s in seen if s[0]]
    assert len({s[0] for s in with_items}) > 3, f"items committed over several commits: {seen}"
    wrong = [s for s in with_items if not s[0] == s[1] == s[2]]
    assert not wrong, f"commits whose counters differ from their item rows (done rows, stage, job): {wrong}"
    assert with_items[-1] == (ITEMS, ITEMS, ITEMS)
