"""Issue 18, item 5: an items loop over a list runs on its own fast path (engine/items.py `_serial`: no coroutine
per item, the rows of items done at their first attempt made by the group commit that takes them,
store/done_items.py). It must leave what the general loop (an async iterable) and the loop with workers leave:
the same rows, counters, outcomes yielded and idempotency keys. Real SQLite files and the real runner.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from jobtui import Context, JobType, Param, PermanentError, Retry, Stage
from jobtui.model import JobStatus
from jobtui.store import Store
from tests.conftest import make_client, run_idle

ITEMS: list[Any] = ["a", "b", "a", 7, "é-ü", "nul\x00key", {"k": [1, 2]}, "flaky", "bad", "none", "text", 7, "z"]
"""Strings, a non-ASCII key, a key with NUL, a dict item, duplicates (run once), one item that fails once and then
succeeds (2 attempts), one that fails for good (tolerated), results None, a string and dicts."""


async def _aiter(items: list[Any]) -> AsyncIterator[Any]:
    for x in items:
        yield x


def items_type(keys: dict[str, list[str]]) -> JobType:
    """One stage over ITEMS, as a list (`how` = list), an async iterable (async) or with three workers (workers)."""
    failed_once: set[str] = set()

    async def each(ctx: Context) -> dict[str, Any]:
        how = ctx.params["how"]

        async def one(item: Any) -> Any:
            keys.setdefault(how, []).append(ctx.idempotency_key.rsplit("-g", 1)[1])
            if item == "flaky" and how not in failed_once:
                failed_once.add(how)
                raise ConnectionError("flaky once")
            if item == "bad":
                raise PermanentError("bad for good")
            if item == "none":
                return None
            if item == "text":
                return "plain ü"
            return {"item": item, "n": [1.5, True, None]}

        source: Any = _aiter(ITEMS) if how == "async" else ITEMS
        seen = [(o.key, o.ok, o.result, o.error, o.attempts, o.replayed)
                async for o in ctx.items(source, one, workers=3 if how == "workers" else 1, allow_failures=1)]
        keys.setdefault(how, []).append(ctx.idempotency_key.rsplit("-g", 1)[1])  # after the loop: the stage's
        return {"seen": seen}

    return JobType("paths", [Stage(each, "each")], params={"how": Param(str, "list")},
                   item_retry=Retry(retries=2, base_s=0, cap_s=0, jitter_s=0), auto_pause_after=0)


def _rows(db: Path, job: int) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT key, status, result, error, attempts FROM items WHERE job_id = ? ORDER BY key",
                            (job,)).fetchall()
    finally:
        conn.close()


async def test_a_list_an_async_iterable_and_workers_leave_the_same_items(store: Store, db_path: Path) -> None:
    keys: dict[str, list[str]] = {}
    client = make_client(store, items_type(keys))
    jobs = {how: await client.submit("paths", {"how": how}) for how in ("list", "async", "workers")}
    await run_idle(client, concurrency=1)
    details = {how: await client.detail(job) for how, job in jobs.items()}
    assert {how: d.job.status for how, d in details.items()} == dict.fromkeys(jobs, JobStatus.COMPLETED)
    rows = {how: _rows(db_path, job) for how, job in jobs.items()}
    assert rows["list"] == rows["async"] == rows["workers"]
    by_key = {r[0]: r[1:] for r in rows["list"]}
    assert len(by_key) == 11  # 13 items, two given twice
    assert by_key["flaky"][0] == "done" and by_key["flaky"][3] == 2
    assert by_key["bad"][:2] == ("failed", None) and "bad for good" in by_key["bad"][2]
    assert by_key["none"] == ("done", None, None, 1) and by_key["text"] == ("done", '"plain \\u00fc"', None, 1)
    assert by_key["a"] == ("done", '{"item":"a","n":[1.5,true,null]}', None, 1)
    assert "nul\\x00key" in by_key and "é-ü" in by_key
    counted = {how: (d.job.items_done, d.job.items_failed, d.job.consecutive_failures,
                     [(s.items_done, s.items_failed) for s in d.stages]) for how, d in details.items()}
    assert counted["list"] == counted["async"] == counted["workers"] == (10, 1, 0, [(10, 1)])
    outputs = {how: d.stages[0].output["seen"] for how, d in details.items()}
    assert outputs["list"] == outputs["async"]  # one at a time: the same outcomes in the same order
    assert sorted(outputs["workers"], key=str) == sorted(outputs["list"], key=str)
    assert keys["list"] == keys["async"]  # each item's idempotency key while it runs; the stage's after the loop
    assert keys["list"][-1] == "0" and "0-é-ü" in keys["list"] and keys["list"].count("0-flaky") == 2


async def test_slow_items_that_never_await_let_the_event_loop_run_between_them(store: Store) -> None:
    """The serial loop yields to the event loop by time (engine/items.py BREATHE_S), not only every so many items:
    between items that block for a while without awaiting, other tasks of the runner (control requests, the group
    commit, a TUI it is embedded in) still run. It yielded every 64 items before: 12 such items, no turn at all."""
    turns: list[int] = []

    async def each(ctx: Context) -> int:
        async def one(i: int) -> int:
            time.sleep(0.005)  # sleep: an item busy for 5 ms without awaiting (CPU-bound work), the case under test
            return i

        async def tick() -> None:
            while True:
                turns.append(len(seen))
                await asyncio.sleep(0)  # sleep: one turn of the event loop, counted each time it comes

        seen: list[int] = []
        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)  # sleep: the ticker's first turn, before the loop
        async for o in ctx.items(list(range(12)), one):
            seen.append(o.result)
        ticker.cancel()
        return len(seen)

    client = make_client(store, JobType("slow", [Stage(each, "each")]))
    job = await client.submit("slow")
    await run_idle(client, concurrency=1)
    assert (await client.detail(job)).job.status is JobStatus.COMPLETED
    between = {n for n in turns if 0 < n < 12}
    assert len(between) >= 10, f"the event loop ran after these many items only: {sorted(set(turns))}"
