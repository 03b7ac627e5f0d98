"""Issue 18, `add` jobs: a runner of short command jobs SIGKILLed again and again loses none and reruns none it ended.

A runner claims jobs in the group commit that carries other jobs' ends (a claim rides it, store/commit.py
`ride`), and claims for a job's slot as soon as that job's end is queued (engine/jobrun.py `end_queued`).
So one commit may hold the end of one job, the claim of the next and the process records of others; a
SIGKILL falls before or after it, never inside. N one-command jobs (real CLI, real processes), the runner
SIGKILLed K times mid-run and relaunched each time, then run to the end. Each command writes its own journal
(a start line, then an end line from a background child of its shell, so that a copy outliving its runner
would show). After the last run: every job completed, each job's runs one after another (never two copies at
once), a run without its end line was killed and ran again, no job whose completion was committed at a kill
ran after it, no process of the jobs left, no process row left alive.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.commands.helpers import mark, procs_with
from tests.commands.test_foreach_kills import _check_runs, _ends, _runs
from tests.conftest import jobtui, poll, spawn_runner, stop_runner
from tests.sizing import sized

JOBS = sized(120, 240, "JOBTUI_ADD_KILL_JOBS")
KILLS = sized(5, 8, "JOBTUI_ADD_KILLS")
"""120 jobs and 5 kills (240 and 8 with JOBTUI_TEST_FULL=1, tests/sizing.py): every kill still lands while a
slow command runs, so each sees a run killed and rerun."""

pytestmark = pytest.mark.slow

SLOW = 8
"""Every SLOW-th job's command takes 3 s: each kill waits until one of them is in flight."""
# $1 job, $2 journal, $3 index; as test_foreach_kills.ITEM: the end line comes from a background subshell.
ITEM = ('r="$$.$JOBTUI_ATTEMPT"; echo "s $1 $r" >> "$2";'
        f' ( [ $(($3 % {SLOW})) -eq 0 ] && sleep 3; echo "e $1 $r" >> "$2" ) & wait')


def _completed(db: Path) -> set[str]:
    """Return the items (the job's command's first argument) of the completed jobs."""
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute("SELECT params FROM jobs WHERE status = 'completed'").fetchall()
    finally:
        con.close()
    return {json.loads(p)["stages"][0]["run"][4] for (p,) in rows}


def _slow_in_flight(journal: Path) -> bool:
    """Tell whether a slow job's run has started and not ended."""
    try:
        lines = journal.read_text().splitlines()
    except FileNotFoundError:
        return False
    runs = {(ln.split()[0], ln.split()[2]) for ln in lines if ln.count(" ") == 2}
    slow = {ln.split()[2] for ln in lines if ln.startswith("s ") and int(ln.split()[1][1:]) % SLOW == 0}
    return any(("e", r) not in runs for r in slow)


@pytest.mark.timeout(max(240, JOBS // 10 + KILLS * 15))
def test_sigkilled_runner_of_add_jobs_runs_each_once_or_kills_and_reruns_it(tmp_path: Path) -> None:
    db = tmp_path / "kills.db"
    journal = tmp_path / "journal"
    m = mark()
    specs = tmp_path / "jobs.jsonl"
    specs.write_text("".join(json.dumps({"stages": [{
        "name": "run", "run": ["sh", "-c", ITEM, "sh", f"j{n}", str(journal), str(n)], "env": {"TESTMARK": m},
    }]}) + "\n" for n in range(JOBS)))
    add = jobtui("submit", "command", "--from", str(specs), db=db)
    assert add.returncode == 0, add.stderr
    kills: list[tuple[int, set[str]]] = []
    """(journal bytes, jobs completed) at each kill."""
    step = max(1, JOBS // (KILLS + 2))
    for k in range(KILLS):
        runner = spawn_runner(db, "--quiet", "--lease-ttl", "1", "--concurrency", "8")
        try:
            want = min(JOBS - 1, (k + 1) * step)
            poll(lambda: (_ends(journal) >= want and _slow_in_flight(journal)) or runner.poll() is not None,  # noqa: B023
                 timeout=120, what=f"{want} commands ended and a slow one running before kill {k + 1}")
            assert runner.poll() is None, f"the runner exited before kill {k + 1}: {runner.stderr}"
        finally:
            stop_runner(runner, signal.SIGKILL, timeout=30)
        kills.append((journal.stat().st_size, _completed(db)))
    last = spawn_runner(db, "--quiet", "--exit-when-idle", "--lease-ttl", "1", "--concurrency", "8")
    _out, err = last.communicate(timeout=600)
    assert last.returncode == 0, err

    everything = {f"j{n}" for n in range(JOBS)}
    assert _completed(db) == everything, "every job completed"
    text = journal.read_text()
    by_job = _runs(text.splitlines())
    assert set(by_job) == everything
    killed = _check_runs(by_job)
    assert killed > 0, "some kill landed while commands ran"
    for at, done in kills:
        later = {ln.split()[1] for ln in text[at:].splitlines() if ln.startswith("s ")}
        again = sorted(later & done)
        assert not again, f"jobs whose completion was committed before a kill ran again after it: {again[:5]}"
    assert procs_with(m) == [], "no process of the jobs outlives them"
    con = sqlite3.connect(db)
    try:
        alive = con.execute("SELECT job_id, pid, token FROM processes WHERE ended_at_ms IS NULL").fetchall()
        running = con.execute("SELECT count(*) FROM jobs WHERE status != 'completed'").fetchone()[0]
    finally:
        con.close()
    assert alive == [], "every process row is closed"
    assert running == 0
