"""Issue 18: commands start through a small fork server (engine/forkserver.py) instead of forking the runner.

The runner no longer forks itself per command (a fork of a large process and Python in the child before exec
was most of a short command's cost); what a command got from that hook it still gets: its own session, its
cgroup, a parent-death signal that reaches it when its runner dies (through the helper's own), default signal
dispositions, nothing open but stdin, stdout and stderr. Real runners, real processes.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.engine.forkserver import ENV_VAR
from jobtui.model import JobStatus
from tests.commands.helpers import mark, output_lines, procs_with, spec
from tests.conftest import jobtui, poll, run_idle, spawn_runner, stop_runner


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        return int(f.read().rsplit(b")", 1)[1].split()[1])


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.slow
def test_a_command_dies_with_its_sigkilled_runner_through_the_fork_servers_parent_death_signal(tmp_path: Path) -> None:
    db = tmp_path / "fs.db"
    m = mark()
    assert jobtui("add", "--env", f"TESTMARK={m}", "--", "sleep", "300", db=db).returncode == 0
    runner = spawn_runner(db, "--quiet")
    try:
        (pid,) = poll(lambda: procs_with(m), what="the command runs")
        helper = _ppid(pid)
        assert helper != runner.pid and "forkchild.py" in _cmdline(helper), "started by the fork server"
        assert _ppid(helper) == runner.pid
        assert os.getsid(pid) == pid, "it leads its own session"
    finally:
        stop_runner(runner, signal.SIGKILL)
    poll(lambda: not procs_with(m), what="the command died with its runner")
    poll(lambda: "forkchild.py" not in _cmdline(helper), what="the fork server died with its runner")


@pytest.mark.parametrize("forkserver", ["1", "0"])
async def test_a_command_starts_with_default_signals_and_only_its_three_streams(
    client: Client, monkeypatch: pytest.MonkeyPatch, forkserver: str
) -> None:
    """The same start either way: nothing ignored or blocked (Python ignores SIGPIPE; the helper ignores SIGINT;
    a runner in the background of a non-interactive shell, or under a supervisor, may ignore SIGINT, SIGQUIT and
    SIGTERM), no descriptor of the runner or the helper leaked."""
    monkeypatch.setenv(ENV_VAR, forkserver)
    stages = [spec(["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], "signals"),
              spec(["ls", "/proc/self/fd"], "fds")]
    job = await client.submit("pipeline", {"stages": stages})
    ignored = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
    before = [signal.signal(sig, signal.SIG_IGN) for sig in ignored]
    try:
        await run_idle(client)
    finally:
        for sig, handler in zip(ignored, before, strict=True):
            signal.signal(sig, handler)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    lines = await output_lines(client, job)
    assert [ln.split()[1] for ln in lines[:2]] == ["0000000000000000"] * 2, lines
    assert lines[2:] == ["0", "1", "2", "3"], f"only stdin, stdout, stderr (and the folder ls reads): {lines}"


@pytest.mark.parametrize("forkserver", ["1", "0"])
async def test_a_program_that_cannot_start_fails_in_one_line_either_way(
    client: Client, monkeypatch: pytest.MonkeyPatch, forkserver: str, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, forkserver)
    missing = await client.submit("command", {"stages": [spec([str(tmp_path / "nope")])]})
    badcwd = await client.submit("command", {"stages": [spec(["true"], cwd=str(tmp_path / "gone"))]})
    await run_idle(client)
    for job in (missing, badcwd):
        j = await client.job(job)
        assert j.status is JobStatus.FAILED
        assert "cannot start" in (j.error_message or "") and "No such file or directory" in (j.error_message or "")


@pytest.mark.slow
def test_a_sigkilled_runner_takes_the_whole_process_group_of_its_command_with_it(tmp_path: Path) -> None:
    """The fork server SIGKILLs each running command's whole group when its runner dies: a background child in the
    group dies at once too (a parent-death signal reached only the command itself; the child ran on until a next
    runner came, if ever)."""
    db = tmp_path / "group.db"
    m = mark()
    assert jobtui("add", "--env", f"TESTMARK={m}", "--", "sh", "-c", "sleep 300 & exec sleep 301", db=db).returncode == 0
    runner = spawn_runner(db, "--quiet")
    try:
        poll(lambda: len(procs_with(m)) >= 2, what="the command and its child run")
    finally:
        stop_runner(runner, signal.SIGKILL)
    poll(lambda: not procs_with(m), what="the command's whole group died with its runner")


@pytest.mark.slow
def test_a_fork_server_killed_alone_leaves_no_command_running_unseen(tmp_path: Path) -> None:
    """A helper SIGKILLed while its runner lives: the runner SIGKILLs the groups of that helper's commands (nobody
    would reap or end them), and the job goes on (the command counts as killed)."""
    db = tmp_path / "helper.db"
    m = mark()
    add = jobtui("add", "--retries", "0", "--env", f"TESTMARK={m}", "--", "sh", "-c", "sleep 300 & exec sleep 301",
                 db=db)
    assert add.returncode == 0, add.stderr
    runner = spawn_runner(db, "--quiet", "--exit-when-idle")
    try:
        pids = poll(lambda: procs_with(m) if len(procs_with(m)) >= 2 else None, what="the command and its child run")
        helper = _ppid(min(pids))
        assert "forkchild.py" in _cmdline(helper)
        os.kill(helper, signal.SIGKILL)
        poll(lambda: not procs_with(m), what="the command's group ended by the runner")
        _out, err = runner.communicate(timeout=60)
        assert runner.returncode == 0, err
    finally:
        stop_runner(runner, signal.SIGKILL)
    assert "killed by signal 9" in jobtui("show", add.stdout.strip(), db=db).stdout


@pytest.mark.parametrize("forkserver", ["1", "0"])
async def test_the_state_file_holds_the_last_checkpoint_and_is_gone_once_the_command_ended(
    client: Client, monkeypatch: pytest.MonkeyPatch, forkserver: str, tmp_path: Path
) -> None:
    """$JOBTUI_STATE_FILE (made by the fork server beside the job's workspace, or by the runner without it) holds the
    stage's last checkpoint; the attempt after exit 75 reads it; no state file is left behind."""
    monkeypatch.setenv(ENV_VAR, forkserver)
    seen = tmp_path / "seen"
    script = (f'cat "$JOBTUI_STATE_FILE" >> {seen}; echo " $JOBTUI_STATE_FILE" >> {seen};'
              ' [ -s "$JOBTUI_STATE_FILE" ] && exit 0; echo "::jobtui checkpoint {\\"n\\": 7}"; exit 75')
    job = await client.submit("command", {"stages": [spec(script)]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    first, second = seen.read_text().splitlines()
    assert first.split()[0] == first.split()[-1], f"empty on the first run: {first!r}"
    assert second.startswith('{"n":7} '), second
    assert not Path(first.split()[-1]).exists() and not Path(second.split()[-1]).exists(), "removed once it ended"
