"""Issue 6: the promises under faults other than SIGKILL, with real processes and real files.

A full disk (a real tmpfs), a write lock held past the busy timeout by another process, a runner
frozen (SIGSTOP) past its lease while a second one works, runners with different lease TTLs.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.helpers import (
    Runner,
    check_database,
    executions,
    export_rows,
    journal,
    poll,
    starts,
    submit,
)
from tests.test_processes import freeze_outside_a_transaction

pytestmark = pytest.mark.slow


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 12 MB tmpfs of its own (root only): a disk that can really fill up."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12M,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path: Path) -> int:
    """Write `path` until the file system is full; return the bytes written."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 512):
            block = b"\0" * size
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


def test_a_full_disk_loses_no_result_and_work_continues_when_space_returns(tmp_path: Path, tmpfs: Path) -> None:
    """Issue 6 (1): with the disk full for about a second, no item result is lost, no counter runs
    ahead, and the jobs finish by themselves once space is freed."""
    db = tmpfs / "jobs.db"
    jr = tmp_path / "journal.txt"
    n = 1500
    ids = submit(db, 3, n=n, item_sleep=0.0005, workers=4)
    runner = Runner(db, tmp_path / "runner.log", "--concurrency", "3", "--exit-when-idle",
                    JOBTUI_TEST_JOURNAL=str(jr))
    filler = tmpfs / "filler"
    try:
        poll(lambda: len(journal(jr)) >= 300, what="items running")
        fill(filler)
        # Hold the disk full until the runner has met it (or for a while), then a second more.
        try:
            poll(lambda: "full" in runner.log(), timeout=15, what="the runner meeting the full disk")
        finally:
            time.sleep(1.0)  # sleep: the disk stays full a moment after the runner met it (the fault, not a wait)
            filler.unlink()
        assert runner.wait(120) == 0, runner.log()
    finally:
        runner.close()
    log = runner.log()
    assert "waiting for the database" in log, log
    assert "writable again" in log, log
    check_database(db, ids, n)
    for job in ids:
        assert export_rows(db, job) == n
    counts = executions(journal(jr))
    assert len([k for k in counts if k[1] == "items"]) == 3 * n


def test_a_write_lock_held_past_the_busy_timeout_fails_no_job(tmp_path: Path) -> None:
    """Issue 6 (2): another process holds the write lock far longer than busy_timeout; the runner
    waits, says so in its log, and every job completes."""
    db = tmp_path / "jobs.db"
    jr = tmp_path / "journal.txt"
    n = 150
    ids = submit(db, 4, n=n, item_sleep=0.004, workers=2)
    runner = Runner(db, tmp_path / "runner.log", "--concurrency", "4", "--exit-when-idle",
                    JOBTUI_TEST_JOURNAL=str(jr), JOBTUI_BUSY_TIMEOUT_MS="200")
    locker = None
    try:
        poll(lambda: len(journal(jr)) >= 40, what="items running")
        locker = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys, time\n"
             "con = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n"
             "con.execute('BEGIN IMMEDIATE')\n"
             "print('locked', flush=True)\n"
             "time.sleep(3)\n"  # sleep: the command a runner supervises, not the test
             "con.execute('ROLLBACK')\n",
             str(db)], stdout=subprocess.PIPE, text=True)
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        assert locker.wait(30) == 0
        assert runner.wait(120) == 0, runner.log()
    finally:
        runner.close()
        if locker is not None:
            if locker.poll() is None:
                locker.kill()
                locker.wait(10)
            if locker.stdout is not None:
                locker.stdout.close()
    log = runner.log()
    assert "waiting" in log and "locked" in log, log
    check_database(db, ids, n)
    assert max(executions(journal(jr)).values()) == 1, "nothing ran twice"


def _registered(db: Path, pid: int) -> bool:
    """Tell whether a runner process of this pid has a row in the runners table."""
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM runners WHERE pid = ?", (pid,)).fetchone()[0] > 0
    finally:
        con.close()


def test_a_runner_frozen_past_its_lease_starts_no_work_on_jobs_it_lost(tmp_path: Path) -> None:
    """Issue 6 (3b): SIGSTOP a runner past its lease while a second runner takes its jobs; once
    woken it starts no item and no stage of those jobs; everything completes."""
    db = tmp_path / "jobs.db"
    jr, st = tmp_path / "journal.txt", tmp_path / "starts.txt"
    n = 300
    ids = submit(db, 2, n=n, item_sleep=0.01, workers=4)
    env = {"JOBTUI_TEST_JOURNAL": str(jr), "JOBTUI_TEST_STARTS": str(st)}
    a = Runner(db, tmp_path / "a.log", "--lease-ttl", "1", "--concurrency", "2", **env)
    b = None
    try:
        poll(lambda: {job for pid, job, *_ in journal(jr) if pid == a.pid} == set(ids), what="a runs both jobs")
        freeze_outside_a_transaction(a.proc, db)
        frozen_ns = time.time_ns()
        # b's long lease: the woken a must not take b for dead (its heartbeat late under load) and claim the jobs
        # back, a start this test would count against a; b still judges a by a's own 1 s lease.
        b = Runner(db, tmp_path / "b.log", "--lease-ttl", "30", "--concurrency", "2", "--exit-when-idle", **env)
        poll(lambda: {job for pid, job, *_ in journal(jr) if pid == b.pid} == set(ids), timeout=30,
             what="b takes both jobs")
        woken_ns = time.time_ns()
        a.proc.send_signal(signal.SIGCONT)
        assert b.wait(120) == 0, b.log()
        # b's recovery deleted a's runner row; the woken a finds its heartbeat refused, stops every job it
        # held (no write, no new item: its items wait for a confirmed lease) and only then registers again.
        poll(lambda: _registered(db, a.pid), timeout=30, what="the woken runner registered again")
    finally:
        a.proc.send_signal(signal.SIGCONT)
        a.proc.send_signal(signal.SIGTERM)
        try:
            a.proc.wait(30)
        finally:
            a.close()
            if b is not None:
                b.close()
    late = [s for s in starts(st) if s[0] == a.pid and s[4] >= woken_ns]
    assert not late, f"the woken runner started work on jobs it no longer held: {late[:5]}"
    assert all(s[4] < frozen_ns for s in starts(st) if s[0] == a.pid)
    check_database(db, ids, n)
    counts = executions(journal(jr))
    assert {k[2] for k in counts if k[1] == "items"} == {f"i{i:04d}" for i in range(n)}
    assert max(counts.values()) <= 2, "only work in flight at the freeze runs twice"
    con = sqlite3.connect(db)
    try:
        assert all(r >= 1 for (r,) in con.execute("SELECT recovery_count FROM jobs"))
    finally:
        con.close()


def test_runners_with_different_lease_ttls_do_not_take_each_other_for_dead(tmp_path: Path) -> None:
    """Issue 6 (3a): a 60 s runner and a 3 s runner share one database; each is judged by its own
    TTL, so neither recovers the other's jobs and nothing runs twice."""
    db = tmp_path / "jobs.db"
    jr = tmp_path / "journal.txt"
    n = 80
    ids = submit(db, 6, n=n, item_sleep=0.05, workers=1)
    env = {"JOBTUI_TEST_JOURNAL": str(jr)}
    slow = Runner(db, tmp_path / "slow.log", "--lease-ttl", "60", "--concurrency", "3", "--exit-when-idle", **env)
    fast = Runner(db, tmp_path / "fast.log", "--lease-ttl", "3", "--concurrency", "3", "--exit-when-idle", **env)
    try:
        assert slow.wait(120) == 0, slow.log()
        assert fast.wait(120) == 0, fast.log()
    finally:
        slow.close()
        fast.close()
    check_database(db, ids, n)
    con = sqlite3.connect(db)
    try:
        assert [r for (r,) in con.execute("SELECT recovery_count FROM jobs")] == [0] * 6, "no runner was taken for dead"
    finally:
        con.close()
    lines = journal(jr)
    assert set(executions(lines).values()) == {1}, "each stage and item ran once"
    assert {pid for pid, *_ in lines} == {slow.pid, fast.pid}, "both runners worked"
