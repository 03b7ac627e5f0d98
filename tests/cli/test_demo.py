"""Issue 8, bug 2: the demo's story is true. `demo --headless` continues the demo database (its jobs
resume), `--fresh` starts over with no old workspaces, and nothing is deleted under a live runner."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cli_env, jobtui, spawn_runner


def _demo(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "jobtui", "demo", "--headless", *args],
                            env=cli_env(home / "jobtui.db"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return list(con.execute(sql))
    finally:
        con.close()


def _run_a_little(home: Path, *args: str, until_items: int = 1, after_ms: int = 0) -> str:
    """Run the headless demo until some items (of jobs created after `after_ms`) are done, then Ctrl-C it."""
    p = _demo(home, *args)
    db = home / "demo.db"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    done = _rows(db, f"SELECT coalesce(sum(items_done), 0) FROM jobs WHERE created_at_ms > {after_ms}")[0][0]
                except sqlite3.OperationalError:
                    done = 0
                if isinstance(done, int) and done >= until_items:
                    break
            time.sleep(0.2)  # sleep: a poll's step
        else:
            raise AssertionError("the demo did no work")
    finally:
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return err


@pytest.mark.slow
def test_headless_demo_continues_and_fresh_starts_over(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    err = _run_a_little(tmp_path)
    assert "12 new jobs" in err
    first = _rows(db, "SELECT job_id, created_at_ms FROM jobs ORDER BY job_id")
    done_before = _rows(db, "SELECT sum(items_done) FROM jobs")[0][0]
    assert len(first) == 12

    err = _run_a_little(tmp_path, until_items=int(done_before or 0) + 1)  # type: ignore[call-overload]
    assert "continuing" in err and "new jobs" not in err, err
    assert _rows(db, "SELECT job_id, created_at_ms FROM jobs ORDER BY job_id") == first, "the same jobs, resumed"

    old = tmp_path / "demo.workspaces" / "999"
    old.mkdir(parents=True)
    (old / "stale.txt").write_text("from an old demo")
    err = _run_a_little(tmp_path, "--fresh", after_ms=int(first[-1][1]))  # type: ignore[call-overload]
    assert "12 new jobs" in err
    assert not old.exists(), "the old demo's workspaces went with its database"
    assert _rows(db, "SELECT min(created_at_ms) FROM jobs")[0][0] > first[-1][1]  # type: ignore[operator]


@pytest.mark.slow
def test_no_demo_deletes_the_database_under_a_live_runner(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    _run_a_little(tmp_path)
    runner = spawn_runner(db, "--quiet")
    try:
        deadline = time.monotonic() + 30
        while not _rows(db, "SELECT 1 FROM runners") and time.monotonic() < deadline:
            time.sleep(0.1)  # sleep: a poll's step
        inode = db.stat().st_ino
        for args in (["demo", "--fresh"], ["demo", "--headless", "--fresh"]):
            r = jobtui(*args, db=tmp_path / "jobtui.db")
            assert r.returncode == 2, r.stderr
            assert r.stderr.count("\n") == 1 and f"pid {runner.pid}" in r.stderr and "still works" in r.stderr
        assert db.stat().st_ino == inode, "the database the runner works on was not replaced"
        assert runner.poll() is None
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=60)
