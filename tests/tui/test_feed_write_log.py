"""The log of job writes the feed reads on SQLite (schema migration 24): its numbers, its bound, a reader behind it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus
from jobtui.store.schema import APPLICATION_ID, MIGRATIONS, statements
from jobtui.store.write_log import WRITE_LOG_KEEP
from jobtui.tui.feed import JobFeed

from .conftest import demo

S = JobStatus
_TICK = "UPDATE jobs SET progress_message = ?, updated_at_ms = updated_at_ms + 1 WHERE job_id = ?"


def _ticks(db: Path, job_id: int, count: int) -> None:
    """Write a job's progress `count` times, from a connection of its own (as a runner's commit lands)."""
    with sqlite3.connect(db) as other:
        other.executemany(_TICK, ((f"tick {n}", job_id) for n in range(count)))
    other.close()


def _log(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT count(*), min(seq), max(seq) FROM job_write_log").fetchone()
    conn.close()
    return int(row[0]), int(row[1]), int(row[2])


async def test_a_status_change_is_told_by_its_event_alone(client: Client) -> None:
    """Issue 20: a write that changes a job's status is not logged (its job event is read in commit order too),
    a progress write is, once per write."""
    job = await client.submit("demo", demo())
    before = await client.change_seq()
    assert before is not None
    await client.pause(job)
    assert await client.change_seq() == before, "a status change adds no log row"
    _ticks(client.db_path, job, 3)
    got = await client.job_changes_after(before)
    assert got == ([(job, "paused", (await client.job(job)).updated_at_ms)], before + 3, True)


@pytest.mark.slow  # two hundred thousand writes: a few seconds of CPU
async def test_the_log_keeps_its_newest_writes_and_a_feed_behind_them_reads_its_window_again(
        client: Client) -> None:
    """Issue 20: the log keeps WRITE_LOG_KEEP rows, numbered without a gap; a feed that slept through more writes
    than that is told so and reads its window, its filter's matches and its pinned jobs again."""
    a = await client.submit("demo", demo())
    b = await client.submit("demo", demo())
    feed = JobFeed(client)
    feed.pinned = lambda: (a,)
    await feed.load()
    await feed.read_window(0, 10)
    first = await client.change_seq()
    assert first is not None
    _ticks(client.db_path, b, WRITE_LOG_KEEP - 1)
    delta = await feed.poll()
    assert delta.changed == {b: S.QUEUED}, "one number short of the bound: every write is there"
    assert _log(client.db_path) == (WRITE_LOG_KEEP, first, first + WRITE_LOG_KEEP - 1)
    _ticks(client.db_path, b, WRITE_LOG_KEEP + 5)
    count, low, high = _log(client.db_path)
    assert (count, high - low + 1) == (WRITE_LOG_KEEP, WRITE_LOG_KEEP), "bounded, and no number skipped"
    got = await client.job_changes_after(first + WRITE_LOG_KEEP - 1)
    assert got is not None and got[1:] == (high, False), "the writes after the feed's number are not all there"
    delta = await feed.poll()
    assert delta.changed == {b: S.QUEUED, a: S.QUEUED}, "the pinned job is read again"
    assert feed.rows_moved and feed._matched is None
    _ticks(client.db_path, b, 1)
    delta = await feed.poll()
    assert delta.changed == {b: S.QUEUED}, "and the feed goes on from the newest number"


async def test_numbers_go_on_from_the_table_migration_24_replaces(tmp_path: Path) -> None:
    """Issue 20: a database numbered by migration 23's table keeps counting up from its newest number, so that a
    feed that took a number before the upgrade still reads every write after it."""
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        for script in MIGRATIONS[:23]:
            for statement in statements(script):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 23")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("INSERT INTO jobs (type, status, params, stage_names, created_at_ms, updated_at_ms)"
                     " VALUES ('demo', 'queued', '{\"delay\": 0, \"items\": 0}', '[\"a\"]', 1, 1)")
        conn.executemany(_TICK, ((f"tick {n}", 1) for n in range(4)))
        (newest,) = conn.execute("SELECT max(seq) FROM job_writes").fetchone()
    conn.close()
    assert newest == 5
    client = await Client.open(db, source="tui")
    try:
        assert await client.change_seq() == newest
        _ticks(db, 1, 1)
        assert await client.job_changes_after(newest) == ([(1, "queued", 6)], newest + 1, True)
    finally:
        await client.close()
