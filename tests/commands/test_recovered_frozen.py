"""Issue 15, items 9 and 13: after a frozen command's runner was SIGKILLed and the job recovered, `show` still said
`frozen (pid N, SIGSTOP)`, then `exit code None`; the recovering runner warned "writes of job(s) N refused: runner
... no longer holds them" (read as fencing failing), and the job's log said "paused → paused". Real CLI, real
runners, real processes."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.commands.helpers import mark, procs_with
from tests.conftest import jobtui, poll, spawn_runner, stop_runner

pytestmark = pytest.mark.slow


def _status(db: Path, job: str) -> str:
    return str(json.loads(jobtui("show", job, "--json", db=db).stdout)["status"])


def test_show_of_a_recovered_frozen_job_says_what_became_of_its_command(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    m = mark()
    # A child of the command that left its process group outlives the runner (the fork server SIGKILLs the group
    # when the runner dies): the next runner ends it and logs it, for a job it does not hold.
    job = jobtui("add", "--env", f"TESTMARK={m}", "--", "sh", "-c", "setsid sleep 300 & exec sleep 301",
                 db=db).stdout.strip()
    runner = spawn_runner(db, "--quiet", "--lease-ttl", "1")
    try:
        poll(lambda: len(procs_with(m)) >= 2, what="the command and its child run")
        assert jobtui("pause", job, db=db).returncode == 0
        poll(lambda: _status(db, job) == "paused", what="paused (frozen)")
        assert "frozen (SIGSTOP)" in jobtui("show", job, db=db).stdout
    finally:
        stop_runner(runner, signal.SIGKILL)
    relaunch = spawn_runner(db, "--exit-when-idle", "--lease-ttl", "1")
    _out, err = relaunch.communicate(timeout=120)
    assert "refused" not in err and "no longer holds" not in err, err
    poll(lambda: not procs_with(m), what="the frozen command ended by the next runner")
    shown = jobtui("show", job, db=db).stdout
    command = next(line for line in shown.splitlines() if line.lstrip().startswith("command"))
    assert "SIGSTOP" not in command and "None" not in command, command
    assert "ended" in command, command
    log = jobtui("logs", job, db=db).stdout
    assert "paused → paused" not in log and "its runner was lost; the job stays paused" in log, log
    assert "ended process group" in log, "the recovering runner's lines about a job it does not hold are kept"
