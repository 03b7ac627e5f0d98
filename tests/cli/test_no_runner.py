"""Issue 19, item 6: `add`, `submit` and `foreach` say so when no runner works on the database (as pueue refuses
without its daemon); the job is queued all the same, and with a live runner nothing is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobtui.cli.fleet import NO_RUNNER
from tests.conftest import jobtui, poll, spawn_runner, stop_runner


@pytest.mark.slow  # runs the CLI and a runner in subprocesses
def test_queueing_without_a_runner_says_how_to_start_one(tmp_path: Path) -> None:
    """One line on stderr, the id alone on stdout; silence once a `jobtui run` works on the database."""
    db = tmp_path / "q.db"
    for argv in (["submit", "demo", "-p", "delay=0"], ["add", "--", "true"], ["foreach", "--args", "a", "--", "true"]):
        r = jobtui(*argv, db=db)
        assert r.returncode == 0 and r.stdout.strip().isdigit(), r.stderr
        assert r.stderr == NO_RUNNER + "\n", r.stderr
    runner = spawn_runner(db, "--quiet")
    try:
        poll(lambda: "alive" in jobtui("runners", db=db).stdout, timeout=60, what="the runner registered")
        r = jobtui("add", "--", "true", db=db)
        assert r.returncode == 0 and r.stderr == "", r.stderr
    finally:
        stop_runner(runner)
