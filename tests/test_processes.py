"""Real processes: SIGKILL mid-run and relaunch, control from a second process, two runners at once."""

from __future__ import annotations

import collections
import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import jobtui, poll, spawn_runner

pytestmark = pytest.mark.slow

STAGE_INDEX = {"first": 0, "items": 1, "last": 2}


def journal_lines(path: Path) -> list[tuple[int, int, str, str, int, int]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        pid, job, stage, item, start, end = line.split()
        out.append((int(pid), int(job), stage, item, int(start), int(end)))
    return out


def status_of(db: Path, job_id: int) -> str:
    r = jobtui("show", str(job_id), "--json", db=db)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["status"]


def committed(db: Path) -> tuple[set[tuple[int, int, str]], set[tuple[int, int]]]:
    con = sqlite3.connect(db)
    try:
        items = {(j, s, k) for j, s, k in con.execute("SELECT job_id, stage_index, key FROM items WHERE status = 'done'")}
        stages = {(j, s) for j, s in con.execute("SELECT job_id, stage_index FROM stages WHERE status = 'completed'")}
    finally:
        con.close()
    return items, stages


def submit_many(db: Path, count: int, **params: object) -> list[int]:
    lines = "\n".join(json.dumps(params) for _ in range(count))
    r = jobtui("submit", "journal", "--app", "journalapp", "--from", "-", db=db, input=lines)
    assert r.returncode == 0, r.stderr
    return [int(x) for x in r.stdout.split()]


def test_sigkill_mid_run_then_relaunch_redoes_no_committed_work(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    journal = tmp_path / "journal.txt"
    ids = submit_many(db, 16, n=80, item_sleep=0.004, workers=2)
    env = {"JOBTUI_TEST_JOURNAL": str(journal)}
    runner = spawn_runner(db, "--app", "journalapp", "--concurrency", "6", "--quiet", **env)
    try:
        poll(lambda: len(journal_lines(journal)) >= 300)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.communicate(timeout=10)
    before = journal_lines(journal)
    done_items, done_stages = committed(db)
    assert 0 < len(done_items) < 16 * 80, "the kill came mid-run"

    relaunch = spawn_runner(db, "--app", "journalapp", "--concurrency", "6", "--exit-when-idle", "--quiet", **env)
    _out, err = relaunch.communicate(timeout=120)
    assert relaunch.returncode == 0, err

    after = journal_lines(journal)[len(before):]
    assert after, "the relaunch did the rest"
    assert {pid for pid, *_ in after} == {relaunch.pid}
    for _pid, job, stage, item, _s, _e in after:
        if item == "-":
            assert (job, STAGE_INDEX[stage]) not in done_stages, f"completed stage {stage} of job {job} ran again"
        else:
            assert (job, 1, item) not in done_items, f"committed item {item} of job {job} ran again"
    counts = collections.Counter((job, stage, item) for _p, job, stage, item, _s, _e in before + after)
    assert max(counts.values()) <= 2, "work in flight at the kill runs at most twice"
    expected = {(j, "first", "-") for j in ids} | {(j, "last", "-") for j in ids} | {
        (j, "items", f"i{i:04d}") for j in ids for i in range(80)}
    assert set(counts) == expected
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = collections.Counter(s for (s,) in con.execute("SELECT status FROM jobs"))
        assert statuses == {"completed": 16}
        recovered = con.execute("SELECT count(*) FROM jobs WHERE recovery_count > 0").fetchone()[0]
        assert recovered >= 1
        sums = {json.loads(o)["sum"] for (o,) in con.execute("SELECT output FROM stages WHERE stage_index = 1")}
        assert sums == {sum(i * i for i in range(80))}, "results survive the crash intact"
    finally:
        con.close()


def test_pause_resume_cancel_rewind_from_another_process(tmp_path: Path) -> None:
    db = tmp_path / "ctl.db"
    journal = tmp_path / "journal.txt"
    [job] = submit_many(db, 1, n=400, item_sleep=0.01)
    runner = spawn_runner(db, "--app", "journalapp", "--quiet", JOBTUI_TEST_JOURNAL=str(journal))
    try:
        poll(lambda: len(journal_lines(journal)) >= 10)
        r = jobtui("pause", str(job), db=db)
        assert r.returncode == 0 and "running → pausing" in r.stdout, r.stderr
        poll(lambda: status_of(db, job) == "paused", timeout=10)
        n_paused = len(journal_lines(journal))
        # A witness job runs 20 items on the same runner after the pause: had the paused job gone on, it
        # would have journaled items meanwhile (instead of a fixed window of time).
        [witness] = submit_many(db, 1, n=20, item_sleep=0.01)
        poll(lambda: sum(1 for line in journal_lines(journal) if line[1] == witness) >= 20, what="the witness ran")
        assert [line for line in journal_lines(journal)[n_paused:] if line[1] == job] == [], "a paused job does no work"

        assert jobtui("resume", str(job), db=db).returncode == 0
        poll(lambda: sum(1 for line in journal_lines(journal) if line[1] == job) > n_paused + 5)
        r = jobtui("cancel", str(job), db=db)
        assert r.returncode == 0 and "→ cancelling" in r.stdout
        poll(lambda: status_of(db, job) == "cancelled", timeout=10)

        r = jobtui("rewind", str(job), "--to", "first", db=db)
        assert r.returncode == 0, r.stderr
        poll(lambda: status_of(db, job) == "completed", timeout=60)
        detail = json.loads(jobtui("show", str(job), "--json", db=db).stdout)
        assert detail["resume_count"] == 2
        assert [s["status"] for s in detail["stages"]] == ["completed"] * 3
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=30)
    assert runner.returncode == 0


def test_sigterm_hands_running_jobs_back_at_their_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "term.db"
    journal = tmp_path / "journal.txt"
    [job] = submit_many(db, 1, n=1000, item_sleep=0.01)
    runner = spawn_runner(db, "--app", "journalapp", "--grace", "5", JOBTUI_TEST_JOURNAL=str(journal))
    poll(lambda: len(journal_lines(journal)) >= 20)
    runner.send_signal(signal.SIGTERM)
    _out, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err
    assert "stopping" in err
    assert status_of(db, job) == "queued"
    done_items, _ = committed(db)
    assert len(done_items) == len(journal_lines(journal)) - 1, "every finished item was committed before exit"
    r = jobtui("stats", "--json", db=db)
    assert json.loads(r.stdout)["runners"] == []


def test_two_runners_never_run_the_same_job_at_once(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    journal = tmp_path / "journal.txt"
    # About 3 s of work for one runner alone: the two start together, but on a loaded machine one may be
    # up a second before the other (with 0.2 s of work, the first did everything: 'both runners took work').
    ids = submit_many(db, 40, n=5, item_sleep=0.04, stage_sleep=0.01)
    env = {"JOBTUI_TEST_JOURNAL": str(journal)}
    runners = [spawn_runner(db, "--app", "journalapp", "--concurrency", "3", "--exit-when-idle", "--quiet", **env)
               for _ in range(2)]
    for r in runners:
        _out, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
    lines = journal_lines(journal)
    counts = collections.Counter((job, stage, item) for _p, job, stage, item, _s, _e in lines)
    assert len(counts) == 40 * 7 and set(counts.values()) == {1}, "each stage and item ran exactly once"
    spans: dict[int, list[tuple[int, int, int]]] = collections.defaultdict(list)
    for pid, job, _stage, _item, start, end in lines:
        spans[job].append((start, end, pid))
    for job, parts in spans.items():
        assert len({pid for *_x, pid in parts}) == 1, f"job {job} ran in two runners"
    assert {pid for pid, *_ in lines} == {r.pid for r in runners}, "both runners took work"
    assert json.loads(jobtui("stats", "--json", db=db).stdout)["by_status"] == {"completed": 40}
    assert ids


def _states(pid: int) -> list[str]:
    """Return the state letter of each thread of a process ([] once it is gone)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            continue
    return out


def _loop_between_steps(pid: int) -> bool:
    """Tell whether a stopped process's main thread (its event loop) stopped inside a system call.

    In one (epoll_wait, a write...) no task is part-way through a step; in user space it may be between the
    check that confirms its lease and the call of the work that check guards, which a freeze cannot tell apart
    from work begun before it. Unreadable (no ptrace access): taken as yes.
    """
    try:
        return Path(f"/proc/{pid}/task/{pid}/syscall").read_text().split()[0] not in ("-1", "running")
    except (OSError, IndexError):
        return True


def freeze_outside_a_transaction(proc: subprocess.Popen[str], db: Path) -> None:
    """SIGSTOP a runner at a moment it holds no write lock (a frozen lock holder blocks every writer).

    Stopped means every thread shows T: kill() returns before they stop, and under load a thread may still
    run (and take the write lock) after the lock was found free; so the lock is tried only once all are.
    """
    for _ in range(50):
        proc.send_signal(signal.SIGSTOP)
        poll(lambda: all(s in "Tt" for s in _states(proc.pid)), timeout=30, every=0.005,
             what="every thread of the runner stopped")
        con = sqlite3.connect(db, timeout=0.2, isolation_level=None)
        try:
            if _loop_between_steps(proc.pid):
                con.execute("BEGIN IMMEDIATE")
                con.execute("ROLLBACK")
                return
        except sqlite3.OperationalError:
            pass
        finally:
            con.close()
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)  # sleep: the runner runs a moment before it is stopped again
    raise AssertionError("the runner always held the write lock")


def test_a_frozen_runner_loses_its_jobs_to_another_and_writes_nothing_after(tmp_path: Path) -> None:
    db = tmp_path / "frozen.db"
    journal = tmp_path / "journal.txt"
    [job] = submit_many(db, 1, n=300, item_sleep=0.01)
    env = {"JOBTUI_TEST_JOURNAL": str(journal)}
    a = spawn_runner(db, "--app", "journalapp", "--lease-ttl", "1", "--quiet", **env)
    b = None
    try:
        poll(lambda: len(journal_lines(journal)) >= 10)
        freeze_outside_a_transaction(a, db)
        b = spawn_runner(db, "--app", "journalapp", "--lease-ttl", "1", "--exit-when-idle", "--quiet", **env)
        poll(lambda: any(pid == b.pid for pid, *_ in journal_lines(journal)), timeout=20)
        a.send_signal(signal.SIGCONT)
        _out, err = b.communicate(timeout=60)
        assert b.returncode == 0, err
    finally:
        a.send_signal(signal.SIGCONT)
        a.send_signal(signal.SIGTERM)
        a.communicate(timeout=30)
        if b is not None and b.poll() is None:
            b.kill()
            b.communicate(timeout=10)
    assert status_of(db, job) == "completed"
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0] == 300
        assert con.execute("SELECT recovery_count FROM jobs").fetchone()[0] >= 1
    finally:
        con.close()
    lines = journal_lines(journal)
    counts = collections.Counter(item for _p, _j, stage, item, _s, _e in lines if stage == "items")
    assert set(counts) == {f"i{i:04d}" for i in range(300)}
    assert max(counts.values()) <= 2
