"""Issue 14 item 5: runners that share a host name but not a PID namespace (containers on host networking).

A runner in another PID namespace cannot see a healthy runner's pid: that is not death. Each runner
registers its host identity (boot id and PID namespace); only a runner with the same identity may
judge by the pid, the others trust the lease. And a runner name is one live runner: a second one is
refused in one line.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands.helpers import mark, procs_with
from tests.conftest import cli_env, jobtui, poll, spawn_runner, stop_runner
from tests.faults.helpers import rows, sigkill

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


needs_unshare = pytest.mark.skipif(not _unshare_works(), reason="unshare --pid --fork --mount-proc is not permitted here")


def _in_new_pidns(db: Path, *args: str) -> subprocess.Popen[str]:
    """Start `jobtui run *args` in a new PID namespace (same host name, same boot, its own /proc)."""
    return subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, "-m", "jobtui", "run", *args],
        env=cli_env(db), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.fixture
def marker() -> Iterator[str]:
    """A marker for the commands' environment; whatever still carries it after the test is killed."""
    m = mark()
    yield m
    sigkill(procs_with(m))


def _one(db: Path, sql: str) -> int:
    """Return the one number a query gives (-1 while the database or its tables are not there yet)."""
    if not db.exists():
        return -1
    try:
        got = rows(db, sql)
    except sqlite3.OperationalError:
        return -1
    return int(got[0][0]) if got and got[0][0] is not None else -1


def _heartbeats_since_start(db: Path, name: str) -> int:
    return _one(db, f"SELECT heartbeat_at_ms - started_at_ms FROM runners WHERE name = '{name}'")


def _stop_inside(p: subprocess.Popen[str]) -> None:
    """SIGTERM the runner unshare started (unshare itself ignores SIGTERM while it waits), and wait for both."""
    [child] = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()
    os.kill(int(child), signal.SIGTERM)
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err


@needs_unshare
def test_runner_in_another_pid_namespace_does_not_take_a_healthy_runners_job(
    tmp_path: Path, procs: list[subprocess.Popen[str]], marker: str
) -> None:
    """Same host name, same boot, other PID namespace: no steal, no second copy of the command."""
    db = tmp_path / "ns.db"
    journal = tmp_path / "starts.txt"
    job = int(jobtui("add", "--env", f"TESTMARK={marker}", "--", "sh", "-c",
                     f'echo "$$" >> {journal}; while :; do sleep 0.1; done', db=db).stdout)
    host = spawn_runner(db, "--name", "outside", "--lease-ttl", "2", "--quiet")
    procs.append(host)
    poll(lambda: journal.exists() and journal.read_text().strip(), what="the command started")
    inside = _in_new_pidns(db, "--name", "inside", "--lease-ttl", "2", "--quiet")
    procs.append(inside)
    # Its heartbeat loop recovers every lease/2 s: let it run three lease lengths (6 s; the steal took < 4 s).
    poll(lambda: _heartbeats_since_start(db, "inside") >= 6000 or inside.poll() is not None, what="6 s of heartbeats")
    assert inside.poll() is None, inside.communicate()[1]
    assert len(journal.read_text().split()) == 1, "the command was started a second time"
    [(status, recoveries, owner)] = rows(db, f"SELECT status, recovery_count, lease_owner FROM jobs WHERE job_id = {job}")
    assert (status, recoveries) == ("running", 0)
    assert owner in {r[0] for r in rows(db, "SELECT runner_id FROM runners WHERE name = 'outside'")}
    assert len(procs_with(marker)) >= 1
    # A runner that is truly gone is still recovered, by its lease, from the other namespace.
    host.kill()
    host.wait(timeout=30)
    poll(lambda: rows(db, f"SELECT recovery_count FROM jobs WHERE job_id = {job}")[0][0] == 1, timeout=60,
         what="recovery by lease")
    _stop_inside(inside)


@needs_unshare
def test_a_second_live_runner_of_the_same_name_is_refused(tmp_path: Path, procs: list[subprocess.Popen[str]]) -> None:
    """`run --name vm-1` twice (the second in another PID namespace, or here): one line, exit 2, nothing changed."""
    db = tmp_path / "names.db"
    first = spawn_runner(db, "--name", "vm-1", "--lease-ttl", "2", "--quiet")
    procs.append(first)
    poll(lambda: _one(db, "SELECT count(*) FROM runners WHERE name = 'vm-1'") == 1, what="vm-1 registered")
    for start in (lambda: _in_new_pidns(db, "--name", "vm-1", "--quiet"),
                  lambda: spawn_runner(db, "--name", "vm-1", "--quiet")):
        second = start()
        procs.append(second)
        _out, err = second.communicate(timeout=60)
        assert second.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "vm-1" in lines[0] and "already" in lines[0], err
        assert "Traceback" not in err
    assert first.poll() is None
    assert rows(db, "SELECT count(*) FROM runners WHERE name = 'vm-1'") == [(1,)]
    # SIGKILLed here (its pid visibly gone): the name is free at once, not only when its lease ends.
    first.kill()
    first.wait(timeout=30)
    again = spawn_runner(db, "--name", "vm-1", "--lease-ttl", "30", "--quiet")
    procs.append(again)
    poll(lambda: _one(db, f"SELECT count(*) FROM runners WHERE name = 'vm-1' AND pid = {again.pid}") == 1
         or again.poll() is not None, what="vm-1 taken again")
    assert again.poll() is None, again.communicate()[1]
    stop_runner(again)


@needs_unshare
def test_a_default_name_taken_in_another_pid_namespace_gets_a_suffix(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    """Inside its own PID namespace a runner is pid 1: its default name HOST-1 may be taken; it runs as HOST-1-xxxx."""
    db = tmp_path / "default.db"
    host = socket.gethostname()
    first = spawn_runner(db, "--name", f"{host}-1", "--quiet")
    procs.append(first)
    poll(lambda: _one(db, f"SELECT count(*) FROM runners WHERE name = '{host}-1'") == 1, what="HOST-1 registered")
    inside = _in_new_pidns(db, "--quiet")
    procs.append(inside)
    poll(lambda: _one(db, f"SELECT count(*) FROM runners WHERE name LIKE '{host}-1-%'") == 1 or inside.poll() is not None,
         what="the second runner registered")
    assert inside.poll() is None, inside.communicate()[1]
    [(pid,)] = rows(db, f"SELECT pid FROM runners WHERE name LIKE '{host}-1-%'")
    assert pid == 1
    _stop_inside(inside)
    stop_runner(first)
