"""Issue 17 (the CPU-bound case): PostgreSQL runs the group commit's hot statements as one statement over arrays
(store/pg_bulk.py); each form must leave every table as running its statement row by row would."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable

import asyncpg
import pytest

from jobtui.model import NotifyEvent
from jobtui.store import JobStore, NewJob, open_store
from jobtui.store.pg_bulk import BULK
from jobtui.store.pg_connection import PgConnection
from jobtui.store.runs import take_sql
from jobtui.store.sql_pg import PG
from tests.backends import PgCluster

_TABLES = {
    "jobs": "job_id",
    "stages": "job_id, stage_index",
    "items": "job_id, stage_index, key",
    "logs": "log_id",
    "notifications": "notification_id",
    "job_events": "event_id",
}


class _Clock:
    """The same times in both databases: each reading is one millisecond on."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


async def _story(store: JobStore) -> None:
    """Queue, in a few group commits, every statement that has a form for many rows, for several jobs at once."""
    hook = "https://example.invalid/hook"
    parents = await store.add_jobs([NewJob("t", {}, ("a", "b", "c"), (1, 1, 1), notify=(("url", hook),))
                                    for _ in range(3)])
    first = await store.add_jobs([NewJob("t", {}, ("a",), (1,), after=tuple(parents[:2]))])
    await store.add_jobs([NewJob("t", {}, ("a",), (1,), after=(parents[2], first[0]))])
    await store.add_jobs([NewJob("u", {}, ("a",), (1,)) for _ in range(2)])
    store.notify_defaults = (("url", "https://example.invalid/default"),)
    claimed = await store.claim("r1", 3, ["t"])
    ids = [c.job.job_id for c in claimed]
    assert sorted(ids) == sorted(parents)
    for job_id in ids:  # stage a: started and completed in one commit (one write of its row); stage b starts
        store.stage_started(job_id, 0, 1, 1, 1, 0)
        store.stage_finished(job_id, 0, {"out": job_id})
        store.log(job_id, "info", f"a of {job_id}")
        store.log(job_id, "info", f"again a of {job_id}")
        store.stage_started(job_id, 1, 1, 1, 1, 0)
        for key in ("x", "y"):
            store.item_finished(job_id, 1, key, True, {"k": key}, None, 1)
    await store.commit_point()
    store.item_finished(ids[0], 1, "x", False, None, "boom", 1)  # one item twice in a batch: run row by row
    store.item_finished(ids[0], 1, "x", True, "again", None, 2)
    await store.commit_point()
    for job_id in ids:  # stage b completes (its start committed before); stage c in one commit; the job ends
        store.stage_finished(job_id, 1, [job_id], note="1 tolerated")
        store.stage_started(job_id, 2, 2, 3, 4, 1)
        store.stage_finished(job_id, 2, None)
        store.job_completed(job_id, "r1", 3)
        store.notify_event(job_id, NotifyEvent.COMPLETED)
        store.log(job_id, "info", "job completed")
    await store.commit_point()
    others = [c.job.job_id for c in await store.claim("r1", 2, ["u"])]
    for job_id in ids[:2] + others:  # ends written by a runner that does not hold the jobs: the guards refuse them
        store.job_completed(job_id, "someone-else", 7)
    await store.commit_point()


async def _tables(url: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(url)
    try:
        return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY {order}")]
                for t, order in _TABLES.items()}
    finally:
        await conn.close()


async def _run(url: str, *, bulk: bool) -> tuple[dict[str, list[tuple[object, ...]]], Counter[str]]:
    store = await open_store(url, clock=_Clock())
    conn = store._conn  # type: ignore[attr-defined]
    assert isinstance(conn, PgConnection)
    conn.bulk = bulk
    try:
        await _story(store)
    finally:
        await store.close()
    return await _tables(url), conn.bulk_runs


@pytest.mark.slow  # two databases on the session's server
async def test_each_form_for_many_rows_writes_what_its_statement_row_by_row_writes(
        pg_cluster: PgCluster, pg_url: str) -> None:
    other: Callable[[], str] = pg_cluster.new_database
    name = other()
    try:
        row_by_row, none = await _run(pg_cluster.url(name), bulk=False)
        at_once, runs = await _run(pg_url, bulk=True)
    finally:
        pg_cluster.drop_database(name)
    assert not none
    assert set(runs) == set(BULK), "every form for many rows must run at least once"
    for table in _TABLES:
        assert at_once[table] == row_by_row[table], table
    assert row_by_row["notifications"], "the story must queue notifications"
    assert [r[2] for r in row_by_row["jobs"]] == ["completed"] * 3 + ["queued", "blocked"] + ["running"] * 2


@pytest.mark.slow  # stats read after the store's session ends
async def test_quick_stages_update_the_jobs_row_in_place(pg_url: str) -> None:
    """The job's row takes each quick stage (begun and completed within one commit) as a HOT update: no indexed
    column changes and its page has room (fillfactor 70), so no index entry is written for it."""
    store = await open_store(pg_url)
    try:
        await store.add_jobs([NewJob("t", {}, tuple("abcde"), (1,) * 5) for _ in range(40)])
        ids = [c.job.job_id for c in await store.claim("r1", 40, ["t"])]
        for index in range(5):
            for job_id in ids:
                store.stage_started(job_id, index, 1, 1, 1, 0)
                store.stage_finished(job_id, index, index)
            await store.commit_point()
    finally:
        await store.close()  # the session's counts reach the statistics when it ends
    conn = await asyncpg.connect(pg_url)
    try:
        for _ in range(100):
            row = await conn.fetchrow("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'jobs'")
            if row["n_tup_upd"] >= 40 * 6:
                break
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            await asyncio.sleep(0.05)  # sleep: the ended session's counts are flushed by the server on its own
    finally:
        await conn.close()
    assert row["n_tup_upd"] >= 40 * 6  # the claim, then a step per stage
    assert row["n_tup_hot_upd"] >= 40 * 5 * 3 // 4, dict(row)


@pytest.mark.slow  # a burst of submits on the session's server
async def test_a_claim_after_a_burst_of_submits_reads_its_list_of_ids_once(pg_url: str) -> None:
    """Right after a burst of submits the table's statistics still say a few rows: as `job_id IN (subquery)`, the
    planner chose a nested loop that expanded the claim's JSON list of ids again for every row (500 jobs: 194 ms
    instead of 57). As `job_id = ANY(ARRAY(...))` the list is read once."""
    store = await open_store(pg_url)
    try:
        ids = await store.add_jobs([NewJob("t", {}, ("a",), (1,)) for _ in range(300)])
    finally:
        await store.close()
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("BEGIN")
        plan = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + take_sql(PG), "r1", 1, json.dumps(ids))
        await conn.execute("ROLLBACK")
    finally:
        await conn.close()
    nodes: list[dict[str, object]] = []
    todo = [json.loads(plan)[0]["Plan"] if isinstance(plan, str) else plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))  # type: ignore[arg-type]
    assert max(int(n["Actual Loops"]) for n in nodes) == 1, [(n["Node Type"], n["Actual Loops"]) for n in nodes]
    assert nodes[0]["Actual Rows"] == 300


@pytest.mark.slow  # a database on the session's server
async def test_a_group_commit_sends_its_commit_token_with_the_commit(pg_url: str, monkeypatch: pytest.MonkeyPatch
                                                                     ) -> None:
    """The commit token (looked up when the connection is lost with COMMIT's answer) costs no round trip of its
    own: it goes with COMMIT in one simple query. A group commit of one statement (its rows pipelined by
    `executemany`) is three round trips: BEGIN, the statement, the token with COMMIT."""
    store = await open_store(pg_url)
    try:
        (job_id,) = await store.add_jobs([NewJob("t", {}, ("a",), (1,))])
        sent: list[str] = []
        real = asyncpg.connection.Connection.execute

        real_many = asyncpg.connection.Connection.executemany

        async def execute(self: asyncpg.Connection, query: str, *args: object, **kw: object) -> object:
            sent.append(query)
            return await real(self, query, *args, **kw)

        async def executemany(self: asyncpg.Connection, query: str, *args: object, **kw: object) -> object:
            sent.append(query)
            return await real_many(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.connection.Connection, "execute", execute)
        monkeypatch.setattr(asyncpg.connection.Connection, "executemany", executemany)
        store.log(job_id, "info", "one line")
        await store.commit_point()
        monkeypatch.undo()
        assert [ln.message for ln in await store.logs(job_id)] == ["one line"]
    finally:
        await store.close()
    assert len(sent) == 3 and sent[0] == "BEGIN" and sent[1].startswith("INSERT INTO logs"), sent
    assert sent[2].startswith("INSERT INTO jobtui_commits") and sent[2].endswith("; COMMIT"), sent
