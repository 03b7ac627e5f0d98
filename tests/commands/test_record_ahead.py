"""A command's record is committed before its fork: a runner SIGKILLed in between leaves nothing unrecorded.

The 1-in-4 CI failure of test_command_cli.py::test_sigkilled_runner_relaunched_never_overlaps_two_copies: under
load the runner was SIGKILLed after the fork but before the commit of the process's row, so the relaunch knew
nothing to end and ran a second copy beside the first one's TERM-ignoring child. Real CLI, runners, processes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.engine.containment import TOKEN_VAR
from jobtui.engine.hosts import host_identity
from jobtui.engine.process import verified_members
from jobtui.model import JobStatus, ProcessRecord
from tests.commands.helpers import mark, proc_state, procs_with, spec
from tests.conftest import cli_show, jobtui, poll, run_idle, spawn_runner, stop_runner, wait_for

pytestmark = pytest.mark.slow

ITEM = """
case $1 in
a) if [ -e {d}/armed ]; then touch {d}/ready; read x < {d}/fifo; fi ;;
b) if [ -e {d}/armed ]; then
     r=$PPID  # the runner, or the fork server that started this for it: its last argument is the runner's pid
     if tr '\\0' ' ' < /proc/$r/cmdline | grep -q forkchild; then r=$(tr '\\0' '\\n' < /proc/$r/cmdline | tail -n 1); fi
     kill -STOP $r; sleep 300 & echo $! > {d}/pid; echo first >> {d}/journal; wait
   else
     p=$(cat {d}/pid 2>/dev/null); s=$([ -n "$p" ] && cut -d' ' -f3 /proc/$p/stat 2>/dev/null)
     [ -n "$s" ] && [ "$s" != Z ] && echo overlap >> {d}/journal
     echo second >> {d}/journal
   fi ;;
esac
"""


def test_no_command_starts_before_its_record_is_committed(tmp_path: Path) -> None:
    """While the database takes no write, item b's command may start only under a record already committed (its
    worker's lane token, committed before item a): it stops its runner (SIGSTOP to the runner, found through the
    fork server when that started it), the runner is SIGKILLed, and the relaunch must end the first copy before it
    runs b again; an unrecorded command would live on beside the relaunch's copy."""
    db = tmp_path / "ahead.db"
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "armed").touch()
    m = mark()
    add = jobtui("foreach", "--workers", "1", "--env", f"TESTMARK={m}", "--args", "a", "b", "--",
                 "sh", "-c", ITEM.format(d=tmp_path), "sh", "{}", db=db)
    assert add.returncode == 0, add.stderr
    job = int(add.stdout)
    log = tmp_path / "runner.log"
    with log.open("w") as err:
        runner = spawn_runner(db, "--quiet", stderr=err, JOBTUI_BUSY_TIMEOUT_MS="200")
    lock = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        poll(lambda: (tmp_path / "ready").exists(), what="item a runs")
        lock.execute("BEGIN IMMEDIATE")  # from here on the runner commits nothing
        with (tmp_path / "fifo").open("w") as fifo:
            fifo.write("go\n")  # item a ends; item b is next
        poll(lambda: proc_state(runner.pid) == "T" or "waiting for the database" in log.read_text(),
             what="item b's command stopped its runner, or the runner waits to commit")
    finally:
        stop_runner(runner, signal.SIGKILL, timeout=10)
        lock.close()
    (tmp_path / "armed").unlink()
    relaunch = spawn_runner(db, "--quiet", "--exit-when-idle")
    _out, stderr = relaunch.communicate(timeout=60)
    assert relaunch.returncode == 0, stderr
    journal = (tmp_path / "journal").read_text().split()
    assert "overlap" not in journal, f"a copy of item b ran beside an unrecorded earlier one: {journal}"
    assert procs_with(m) == []
    assert cli_show(db, job)["status"] == "completed"


async def test_a_row_written_before_its_fork_ends_what_the_command_started(client: Client) -> None:
    """A runner killed after the fork, before the pid's commit, leaves a row with its token and no pid: the next
    run ends what carries the token, and never takes pid 0 for a process group (killpg(0) is its own group)."""
    m = mark()
    token = os.urandom(16).hex()
    leftover = subprocess.Popen(["sh", "-c", "sleep 60 & exit 0"], start_new_session=True,
                                env={**os.environ, "TESTMARK": m, TOKEN_VAR: token})
    leftover.wait()
    await wait_for(lambda: len(procs_with(m)) == 1)
    job = await client.submit("command", {"stages": [spec("true")]})
    ahead = ProcessRecord(job, 0, "", 0, 0, 0, host_identity(), "dead-runner", ("sh",), None, 0, token=token)
    assert verified_members(ahead) == [], "pgid 0 is no recorded group"
    await client.store.process_started(ahead)
    await run_idle(client)
    assert procs_with(m) == [], "what carries the token was ended"
    assert (await client.job(job)).status is JobStatus.COMPLETED
