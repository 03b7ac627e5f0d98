"""Issue 15, item 13: after a frozen command's runner was SIGKILLed and the job recovered, `show` still said
`frozen (pid N, SIGSTOP)`, then `exit code None`. Real CLI, real runners, real processes."""

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
    job = jobtui("add", "--env", f"TESTMARK={m}", "--", "sleep", "300", db=db).stdout.strip()
    runner = spawn_runner(db, "--quiet", "--lease-ttl", "1")
    try:
        poll(lambda: len(procs_with(m)) >= 1, what="the command runs")
        assert jobtui("pause", job, db=db).returncode == 0
        poll(lambda: _status(db, job) == "paused", what="paused (frozen)")
        assert "frozen (SIGSTOP)" in jobtui("show", job, db=db).stdout
    finally:
        stop_runner(runner, signal.SIGKILL)
    relaunch = spawn_runner(db, "--quiet", "--exit-when-idle", "--lease-ttl", "1")
    relaunch.communicate(timeout=120)
    poll(lambda: not procs_with(m), what="the frozen command ended by the next runner")
    shown = jobtui("show", job, db=db).stdout
    command = next(line for line in shown.splitlines() if line.lstrip().startswith("command"))
    assert "SIGSTOP" not in command and "None" not in command, command
    assert "ended" in command, command
