"""Issue 14 item 6: a command that daemonises (fork, setsid, fork) is ended with it: cancel, timeout, recovery.

Each test runs real `jobtui run` processes, with a cgroup per command (where this machine lets the test
make one) and with the environment token alone (`JOBTUI_CGROUPS=0`). The daemon's argv carries a
marker; its pid goes to a file. Never two copies of it alive at once, and none left at the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobtui.engine.containment import cgroup_base
from tests.commands.helpers import all_stopped
from tests.conftest import jobtui, poll, spawn_runner, stop_runner
from tests.faults.helpers import sigkill

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MODES = [
    pytest.param("1", id="cgroup", marks=pytest.mark.skipif(cgroup_base() is None, reason="no writable cgroup v2 here")),
    pytest.param("0", id="token"),
]


def _with_marker(marker: str) -> list[int]:
    """Return the live processes whose argv holds `marker`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read()
            with open(f"/proc/{d}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in argv and state not in (b"Z", b"X"):
            out.append(int(d))
    return out


@pytest.fixture
def marker() -> Iterator[str]:
    """The daemon's argv marker; whatever still carries it after the test is SIGKILLed."""
    m = f"daemon-{uuid.uuid4().hex[:12]}"
    yield m
    sigkill(_with_marker(m))


def _daemonising(marker: str, pids: Path) -> str:
    """A shell line that starts a daemon (fork, setsid, fork: it leaves the command's session) and keeps running."""
    daemon = f"echo $$ >> {pids}; while :; do sleep 0.2; done"
    return (f"( setsid sh -c '{daemon}' {marker} & ) </dev/null >/dev/null 2>&1; "
            f"exec sh -c 'while :; do sleep 0.1; done' {marker}-leader")


def _daemon_pids(pids: Path) -> list[int]:
    return [int(x) for x in pids.read_text().split()] if pids.exists() else []


def _state(pid: int) -> bytes | None:
    """Return a process's state letter (R, S, T, Z...), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return None


def _alive(pid: int) -> bool:
    return _state(pid) not in (None, b"Z", b"X")


def _status(db: Path, job: int) -> str:
    return str(json.loads(jobtui("show", str(job), "--json", db=db).stdout)["status"])


def _started(db: Path, pids: Path, marker: str, n: int = 1) -> int:
    """Wait until the n-th daemon runs; return its pid (its session is its own, not the command's)."""
    poll(lambda: len(_daemon_pids(pids)) >= n and _alive(_daemon_pids(pids)[n - 1]), what=f"daemon {n} started")
    pid = _daemon_pids(pids)[n - 1]
    assert os.getsid(pid) == pid, "the daemon leads its own session: outside the command's process group"
    return pid


@pytest.mark.parametrize("how", ["cancel", "timeout"])
@pytest.mark.parametrize("cgroups", MODES)
def test_cancel_and_timeout_end_the_daemon_a_command_started(
    tmp_path: Path, marker: str, procs: list[subprocess.Popen[str]], cgroups: str, how: str
) -> None:
    db, pids = tmp_path / "d.db", tmp_path / "pids"
    timeout = ["--timeout", "2s"] if how == "timeout" else []
    job = int(jobtui("add", *timeout, "--shell", _daemonising(marker, pids), db=db).stdout)
    runner = spawn_runner(db, "--quiet", JOBTUI_CGROUPS=cgroups)
    procs.append(runner)
    daemon = _started(db, pids, marker)
    if how == "cancel":
        assert jobtui("cancel", str(job), db=db).returncode == 0
    ended = "cancelled" if how == "cancel" else "failed"
    poll(lambda: _status(db, job) == ended, what=ended)
    assert not _alive(daemon) and _with_marker(marker) == [], f"the daemon outlived {how}"
    stop_runner(runner)


@pytest.mark.parametrize("cgroups", MODES)
def test_recovery_ends_a_dead_runners_daemon_before_the_command_runs_again(
    tmp_path: Path, marker: str, procs: list[subprocess.Popen[str]], cgroups: str
) -> None:
    db, pids = tmp_path / "d.db", tmp_path / "pids"
    job = int(jobtui("add", "--shell", _daemonising(marker, pids), db=db).stdout)
    first = spawn_runner(db, "--quiet", "--lease-ttl", "1", JOBTUI_CGROUPS=cgroups)
    procs.append(first)
    daemon = _started(db, pids, marker)
    first.kill()
    first.wait(timeout=30)
    assert _alive(daemon), "the daemon outlives its runner's SIGKILL (the parent-death signal reaches only the leader)"
    second = spawn_runner(db, "--quiet", "--lease-ttl", "1", JOBTUI_CGROUPS=cgroups)
    procs.append(second)
    copies: list[int] = []

    def second_daemon() -> bool:
        copies.append(sum(_alive(p) for p in _daemon_pids(pids)))
        return len(_daemon_pids(pids)) >= 2 and _alive(_daemon_pids(pids)[1])

    poll(second_daemon, what="the command ran again")
    assert not _alive(daemon), "two copies of the daemon run at once"
    assert max(copies) <= 1, copies
    recovered = json.loads(jobtui("show", str(job), "--json", db=db).stdout)
    assert recovered["recovery_count"] == 1
    assert jobtui("cancel", str(job), db=db).returncode == 0
    poll(lambda: _status(db, job) == "cancelled", what="cancelled")
    assert _with_marker(marker) == []
    stop_runner(second)
    con = sqlite3.connect(db)
    made = [Path(c) for (c,) in con.execute("SELECT cgroup FROM processes WHERE cgroup IS NOT NULL")]
    con.close()
    assert bool(made) == (cgroups == "1")
    assert not [c for c in made if c.exists()], "the command's cgroups are removed"


@pytest.mark.parametrize("cgroups", MODES)
def test_pause_freezes_the_daemon_and_resume_continues_it(
    tmp_path: Path, marker: str, procs: list[subprocess.Popen[str]], cgroups: str
) -> None:
    db, pids, ticks = tmp_path / "d.db", tmp_path / "pids", tmp_path / "ticks"
    line = _daemonising(marker, pids).replace("while :; do sleep 0.2; done", f"while :; do echo t >> {ticks}; sleep 0.05; done", 1)
    job = int(jobtui("add", "--shell", line, db=db).stdout)
    runner = spawn_runner(db, "--quiet", JOBTUI_CGROUPS=cgroups)
    procs.append(runner)
    daemon = _started(db, pids, marker)
    poll(lambda: ticks.exists() and ticks.stat().st_size > 0, what="ticking")
    assert jobtui("pause", str(job), db=db).returncode == 0
    poll(lambda: _status(db, job) == "paused", what="paused")
    # Every process of the command, the daemon in its own session among them, is stopped (SIGSTOP): state T, or a
    # shell blocked in vfork on its stopped child (D), which does nothing until the child is continued.
    poll(lambda: bool(_with_marker(marker)) and all_stopped(_with_marker(marker)),
         what=f"the command's processes stopped: {[(p, _state(p)) for p in _with_marker(marker)]}")
    assert daemon in _with_marker(marker)
    before = ticks.stat().st_size
    assert jobtui("resume", str(job), db=db).returncode == 0
    poll(lambda: ticks.stat().st_size > before, what="ticking again")
    assert _alive(daemon)
    assert jobtui("cancel", str(job), db=db).returncode == 0
    poll(lambda: _status(db, job) == "cancelled", what="cancelled")
    assert not _alive(daemon) and _with_marker(marker) == []
    stop_runner(runner)
