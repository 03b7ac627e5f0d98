"""Retention (issue 9, part 4): `run --keep` deletes old finished jobs only; `stats` sizes; `vacuum` reclaims."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from jobtui.engine.retention import purge_old_jobs
from jobtui.store import Store
from tests.apps.unattendedapp import step
from tests.conftest import jobtui, make_client, poll, spawn_runner, stop_runner
from tests.unattended.test_real_runner import APP, show, submit

DAY_MS = 86_400_000


def age(db: Path, *ids: int, days: float = 2) -> None:
    """Make jobs look `days` old (their last update, which for an ended job is its end)."""
    con = sqlite3.connect(db)
    with con:
        con.executemany("UPDATE jobs SET updated_at_ms = updated_at_ms - ? WHERE job_id = ?",
                        [(int(days * DAY_MS), i) for i in ids])
    con.close()


def count(db: Path, sql: str, *args: object) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(sql, args).fetchone()[0])
    finally:
        con.close()


@pytest.mark.slow
def test_runner_keep_deletes_only_old_finished_jobs(tmp_path: Path) -> None:
    db, gate = tmp_path / "ret.db", tmp_path / "gate"
    old_done, old_done2, recent_done = submit(db), submit(db), submit(db)
    old_failed = submit(db, "-p", f"gate={gate}")           # fails; a blocked job depends on it
    blocked = submit(db, "--after", str(old_failed))
    old_cancelled = submit(db, "--at", "+1d")
    assert jobtui("cancel", str(old_cancelled), *APP, db=db).returncode == 0
    r = jobtui("run", "--exit-when-idle", "--keep", "never", *APP, db=db)
    assert r.returncode == 0, r.stderr
    assert [show(db, i)["status"] for i in (old_done, old_failed, blocked)] == ["completed", "failed", "blocked"]
    running = submit(db, "-p", "sleep=60")
    age(db, old_done, old_done2, old_failed, old_cancelled, running)
    ws = db.parent / "ret.workspaces"
    for i in (old_done, recent_done):
        (ws / str(i)).mkdir(parents=True, exist_ok=True)
        (ws / str(i) / "out.txt").write_text("x")
    assert count(db, "SELECT count(*) FROM logs WHERE job_id = ?", old_done) > 0

    p = spawn_runner(db, "--keep", "1d", *APP)
    try:
        poll(lambda: jobtui("show", str(old_done), *APP, db=db).returncode != 0)
        poll(lambda: jobtui("show", str(old_cancelled), *APP, db=db).returncode != 0)
        poll(lambda: show(db, running)["status"] == "running")
        for i in (old_done, old_done2, old_cancelled):
            assert count(db, "SELECT count(*) FROM jobs WHERE job_id = ?", i) == 0
            for table in ("logs", "requests", "items", "stages", "attempts"):
                assert count(db, f"SELECT count(*) FROM {table} WHERE job_id = ?", i) == 0, table
        assert not (ws / str(old_done)).exists(), "the workspace of a deleted job is removed"
        assert (ws / str(recent_done) / "out.txt").exists()
        assert show(db, recent_done)["status"] == "completed", "too recent to delete"
        assert show(db, old_failed)["status"] == "failed", "a blocked job depends on it: kept"
        assert show(db, blocked)["status"] == "blocked"
        assert show(db, running)["status"] == "running", "a running job is never deleted"
    finally:
        stop_runner(p)


@pytest.mark.parametrize("bad", ["5x", "0.1s", "-3d", ""])
def test_bad_keep_is_one_line_exit_2(tmp_path: Path, bad: str) -> None:
    db = tmp_path / "bad.db"
    r = jobtui("run", "--keep", bad, "--exit-when-idle", db=db)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("jobtui: error: ") and "--keep" in r.stderr


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_purge_in_batches_then_stats_and_vacuum_reclaim(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    store = await Store.open(db)
    c = make_client(store, step)
    ids = [await c.submit("step") for _ in range(25)]
    await store.close()
    con = sqlite3.connect(db)
    with con:
        now = int(time.time() * 1000)
        con.execute("UPDATE jobs SET status = 'completed', updated_at_ms = ?", (now - 10 * DAY_MS,))
        con.execute("UPDATE jobs SET updated_at_ms = ? WHERE job_id = ?", (now, ids[-1]))
        blob = "y" * 2000
        con.executemany("INSERT INTO logs (job_id, ts_ms, level, message) VALUES (?, ?, 'info', ?)",
                        [(i, now, blob) for i in ids for _ in range(100)])
        con.executemany("INSERT INTO items (job_id, stage_index, key, status, result, updated_at_ms)"
                        " VALUES (?, 0, ?, 'done', ?, ?)", [(i, f"k{n}", blob, now) for i in ids for n in range(50)])
    con.close()
    size_before = db.stat().st_size + Path(f"{db}-wal").stat().st_size if Path(f"{db}-wal").exists() else 0

    store = await Store.open(db)
    try:
        deleted = await purge_old_jobs(store, 5 * DAY_MS, store.workspace_root, batch=7)
    finally:
        await store.close()
    assert sorted(deleted) == ids[:-1], "all old ones, in batches of 7; the recent one is kept"
    assert count(db, "SELECT count(*) FROM logs WHERE job_id = ?", ids[-1]) == 100
    assert count(db, "SELECT count(*) FROM items WHERE job_id != ?", ids[-1]) == 0

    r = jobtui("stats", "--json", db=db)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["db_bytes"] > 0 and s["vacuum_reclaims_bytes"] > 3_000_000, s
    text = jobtui("stats", db=db).stdout
    assert "vacuum` would reclaim" in text and "MiB" in text
    file_before = db.stat().st_size
    r = jobtui("vacuum", db=db)
    assert r.returncode == 0 and r.stdout.startswith("vacuumed"), r.stderr
    assert db.stat().st_size < file_before - 3_000_000, (file_before, db.stat().st_size, size_before)
    assert json.loads(jobtui("stats", "--json", db=db).stdout)["vacuum_reclaims_bytes"] < 100_000
    assert json.loads(jobtui("show", str(ids[-1]), "--json", db=db).stdout)["status"] == "completed"
