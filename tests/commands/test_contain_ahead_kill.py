"""Issue 18, `add` jobs: a command started under the containment its claim committed (engine/contain_ahead.py), its
runner SIGKILLed before its pid was committed: the relaunch ends it before it runs the job again. Real CLI, runners,
processes."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from tests.commands.helpers import mark, proc_state, procs_with
from tests.conftest import cli_show, jobtui, poll, spawn_runner, stop_runner

pytestmark = pytest.mark.slow

# The second job's command: armed, it starts a child that leaves its process group and ignores SIGTERM (only its token or
# cgroup find it), then stops its runner (found through the fork server that started it: its last argument is the
# runner's pid); a rerun says whether that child still lives.
SECOND = """
if [ -e {d}/armed ]; then
  r=$PPID
  if tr '\\0' ' ' < /proc/$r/cmdline | grep -q forkchild; then r=$(tr '\\0' '\\n' < /proc/$r/cmdline | tail -n 1); fi
  setsid sh -c "trap '' TERM; exec sleep 300" & echo $! > {d}/pid; echo first >> {d}/journal
  kill -STOP $r; wait
else
  p=$(cat {d}/pid 2>/dev/null); s=$([ -n "$p" ] && cut -d' ' -f3 /proc/$p/stat 2>/dev/null)
  [ -n "$s" ] && [ "$s" != Z ] && echo overlap >> {d}/journal
  echo second >> {d}/journal
fi
"""


def _rows(db: Path, job: int) -> list[tuple[int, str | None]]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT pid, token FROM processes WHERE job_id = ?", (job,)).fetchall()
    finally:
        con.close()


def test_a_command_under_a_containment_committed_with_its_claim_is_ended_after_a_kill(tmp_path: Path) -> None:
    """The first job teaches the runner that `command` jobs start a command first; the second, released by the first's
    end, is claimed in that same commit with its containment's row, and its command starts with no commit of its own."""
    db = tmp_path / "ahead.db"
    (tmp_path / "armed").touch()
    m = mark()
    first = jobtui("add", "--env", f"TESTMARK={m}", "--", "true", db=db)
    assert first.returncode == 0, first.stderr
    second = jobtui("add", "--env", f"TESTMARK={m}", "--after", first.stdout.strip(), "--shell",
                    SECOND.format(d=tmp_path), db=db)
    assert second.returncode == 0, second.stderr
    job = int(second.stdout)
    runner = spawn_runner(db, "--quiet", "--concurrency", "1")
    try:
        poll(lambda: proc_state(runner.pid) == "T", what="the second job's command stopped its runner")
    finally:
        stop_runner(runner, signal.SIGKILL, timeout=10)
    assert len(procs_with(m)) >= 1, "the command outlived its runner"
    [(_pid, token)] = _rows(db, job)
    assert token, "the command's row (its token) was committed before it started"
    (tmp_path / "armed").unlink()
    relaunch = spawn_runner(db, "--quiet", "--exit-when-idle")
    _out, stderr = relaunch.communicate(timeout=60)
    assert relaunch.returncode == 0, stderr
    journal = (tmp_path / "journal").read_text().split()
    assert journal == ["first", "second"], f"the first copy lived on beside the rerun: {journal}"
    assert procs_with(m) == []
    assert cli_show(db, job)["status"] == "completed"
