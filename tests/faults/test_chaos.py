"""Issue 6: SIGKILL chaos. A loaded runner is killed and relaunched again and again while another
process pauses, resumes and cancels jobs through the CLI; nothing committed ever runs again.

Issue 14: beside the Python jobs, `foreach` command jobs whose every item prints hostile output (NUL
bytes, invalid UTF-8, a progress number past 64 bits, a marker nested 100,000 deep, NaN, a checkpoint
over 128 KiB, terminal escapes): 0 lost, 0 committed work redone, no job restarted in a loop.

JOBTUI_CHAOS_KILLS sets the number of kills (default 5; e.g. 50 for a long run), JOBTUI_CHAOS_SEED
the random seed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import jobtui
from tests.faults.helpers import Runner, check_database, journal, poll, submit

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("JOBTUI_CHAOS_KILLS", "5"))
STAGE_INDEX = {"first": 0, "items": 1, "last": 2, "each": 0}
"""Journal stage name -> stage index ("each": the one stage of the foreach command jobs)."""
HOSTILE_ITEMS = 60


def hostile_output(path: Path) -> Path:
    """Write what each foreach item prints (issue 14's hostile output) to `path`; return it."""
    lines = [b"nul\x00byte \xff\xfe invalid", b"::jobtui progress 99999999999999999999/1",
             b"::jobtui checkpoint " + b"[" * 100_000 + b"]" * 100_000, b"::jobtui checkpoint NaN",
             b"::jobtui checkpoint \"\\u0000\"", b"\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x07",
             b'::jobtui checkpoint {"big": "' + b"x" * 150_000 + b'"}']
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def submit_hostile(db: Path, tmp_path: Path, count: int) -> list[int]:
    """Queue `count` foreach jobs whose items print hostile output, then journal their end as the journal app does."""
    out = hostile_output(tmp_path / "hostile.bin")
    script = (f'start=$(date +%s%N); cat {out}; sleep 0.1;'
              ' echo "$PPID $JOBTUI_JOB_ID each $1 $start $(date +%s%N)" >> "$JOBTUI_TEST_JOURNAL"')
    ids = []
    for _ in range(count):
        items = [f"h{i:03d}" for i in range(HOSTILE_ITEMS)]
        # First in line, so that the first kills land while they run.
        r = jobtui("foreach", "--workers", "2", "--priority", "10", "--args", *items, "--", "sh", "-c", script, "sh", "{}",
                   db=db)
        assert r.returncode == 0, r.stderr
        ids.append(int(r.stdout.split()[0]))
    return ids


def committed(db: Path) -> tuple[set[tuple[int, int, str]], set[tuple[int, int]]]:
    con = sqlite3.connect(db)
    try:
        items = set(con.execute("SELECT job_id, stage_index, key FROM items WHERE status = 'done'"))
        stages = set(con.execute("SELECT job_id, stage_index FROM stages WHERE status = 'completed'"))
    finally:
        con.close()
    return items, stages


def statuses(db: Path) -> dict[int, str]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT job_id, status FROM jobs"))
    finally:
        con.close()


def settled(db: Path) -> bool:
    """Tell whether no job is left to run (they may all finish before the journal grows as asked)."""
    return not any(s in ("queued", "running") for s in statuses(db).values())


def control(db: Path, action: str, job: int) -> None:
    r = jobtui(action, str(job), db=db)
    # The job may have moved on since we looked (exit 2, one line); never a traceback.
    assert r.returncode in (0, 2) and "Traceback" not in r.stderr, r.stderr


@pytest.mark.timeout(max(180, KILLS * 12))
def test_sigkill_chaos_with_control_from_another_process(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("JOBTUI_CHAOS_SEED", "6")))
    db = tmp_path / "chaos.db"
    jr = tmp_path / "journal.txt"
    sizes: dict[int, int] = {}
    scale = max(1, KILLS // 4)  # enough work that every kill lands mid-run
    # Items sleep long enough that the jobs outlast the kills however fast the engine is: with 4 ms
    # items, a fast runner finished every job before the first kill (and the test checked nothing).
    for n, workers, sleep, count in ((40, 1, 0.02, 4), (120, 3, 0.02, 4), (300, 4, 0.01, 2)):
        for job in submit(db, count * scale, n=n, item_sleep=sleep, workers=workers, stage_sleep=0.02):
            sizes[job] = n
    hostile = submit_hostile(db, tmp_path, 2 * scale)
    env = {"JOBTUI_TEST_JOURNAL": str(jr)}
    cancelled: set[int] = set()
    for kill in range(KILLS):
        seen = len(journal(jr))
        done_items, done_stages = committed(db)
        runner = Runner(db, tmp_path / f"runner{kill}.log", "--concurrency", "4", "--lease-ttl", "5", **env)
        try:
            if any(s in ("queued", "running") for s in statuses(db).values()):
                want = seen + rng.randint(5, 60)
                poll(lambda want=want: len(journal(jr)) >= want or settled(db), timeout=60, what=f"work after kill {kill}")
            now = statuses(db)
            running = [j for j, s in now.items() if s == "running"]
            paused = [j for j, s in now.items() if s == "paused"]
            choice = rng.random()
            if paused and choice < 0.4:
                control(db, "resume", rng.choice(paused))
            elif running and choice < 0.8:
                control(db, "pause", rng.choice(running))
            elif running and len(cancelled) < 2:
                job = rng.choice(running)
                control(db, "cancel", job)
                cancelled.add(job)
            want = len(journal(jr)) + rng.randint(1, 30)
            if any(s == "running" for s in statuses(db).values()):
                try:
                    # Done also counts: the jobs may all finish before `want` more lines are written.
                    poll(lambda want=want: len(journal(jr)) >= want or settled(db), timeout=40, what="more work")
                except AssertionError:
                    raise AssertionError(f"no progress: {statuses(db)}\n{runner.log()}") from None
        finally:
            runner.proc.send_signal(signal.SIGKILL)
            runner.proc.wait(10)
            runner.close()
        mine = [line for line in journal(jr)[seen:] if line[0] == runner.pid]
        for _pid, job, stage, item, _s, _e in mine:
            if item == "-":
                assert (job, STAGE_INDEX[stage]) not in done_stages, f"kill {kill}: completed stage {stage} of job {job} ran again"
            else:
                assert (job, STAGE_INDEX[stage], item) not in done_items, f"kill {kill}: committed item {item} of job {job} ran again"

    # Let everything that was not cancelled finish. A killed runner may have left a job pausing or cancelling:
    # the next runner's recovery settles it (paused, cancelled), so a paused one may need a second pass.
    for attempt in range(3):
        for job, status in statuses(db).items():
            if status in ("paused", "pausing"):
                control(db, "resume", job)
        seen = len(journal(jr))
        done_items, done_stages = committed(db)
        last = Runner(db, tmp_path / f"last{attempt}.log", "--concurrency", "4", "--exit-when-idle", **env)
        try:
            assert last.wait(180) == 0, last.log()
        finally:
            last.close()
        for _pid, job, stage, item, _s, _e in journal(jr)[seen:]:
            if item == "-":
                assert (job, STAGE_INDEX[stage]) not in done_stages, f"completed stage {stage} of job {job} ran again"
            else:
                assert (job, STAGE_INDEX[stage], item) not in done_items, f"committed item {item} of job {job} ran again"
        if "paused" not in statuses(db).values():
            break
    final = statuses(db)
    assert {j for j, s in final.items() if s == "cancelled"} <= cancelled, "only jobs asked to cancel are cancelled"
    cancelled = {j for j, s in final.items() if s == "cancelled"}
    assert {s for j, s in final.items() if j not in cancelled} <= {"completed"}, final
    assert len(cancelled) < len(final)
    for n in set(sizes.values()):
        ids = [j for j, size in sizes.items() if size == n]
        check_database(db, ids, n, completed={j for j in ids if j not in cancelled})
    check_database(db, hostile, HOSTILE_ITEMS, completed={j for j in hostile if j not in cancelled})
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT sum(recovery_count) FROM jobs").fetchone()[0] >= 1, "the kills hit running jobs"
        hit = con.execute(f"SELECT sum(recovery_count) FROM jobs WHERE job_id IN ({','.join(map(str, hostile))})").fetchone()[0]
        assert hit >= 1, "the kills hit the jobs printing hostile output"
        for job, output in con.execute("SELECT job_id, output FROM stages WHERE stage_index = 2 AND status = 'completed'"):
            assert int(output) == sum(i * i for i in range(sizes[job])), f"job {job}: results survive every kill"
    finally:
        con.close()
