"""Smoke test: the real `jobtui` in a real terminal (tmux): open, select a running job, press p, see it paused."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus

from .conftest import LONG

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10).stdout


async def screen_until(socket: str, want: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = tmux(socket, "capture-pane", "-p", "-t", "smoke")
        if want in text:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{want!r} never showed; the screen was:\n{text}")
        await asyncio.sleep(0.1)  # sleep: a poll's step (tmux has no change signal)


async def test_tmux_open_select_pause(tmp_path: Path) -> None:
    db = tmp_path / "smoke.db"
    client = await Client.open(db)
    try:
        job = await client.submit("demo", LONG)
    finally:
        await client.close()
    socket = f"jobtui-smoke-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBTUI_", "TMUX"))}
    command = f"{sys.executable} -m jobtui --db {db}"
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "smoke", "-x", "120", "-y", "30", command],
                   check=True, env=env, timeout=10)
    try:
        await screen_until(socket, "● running")
        screen = await screen_until(socket, f"Job {job} · demo")  # the only job is selected
        assert "runner ● here" in screen
        tmux(socket, "send-keys", "-t", "smoke", "p")
        await screen_until(socket, "‖ paused")
        client = await Client.open(db)
        try:
            deadline = time.monotonic() + 10
            while (status := (await client.job(job)).status) is not JobStatus.PAUSED:
                assert time.monotonic() < deadline, f"job is {status.value}"
                await asyncio.sleep(0.1)  # sleep: a poll's step (tmux has no change signal)
        finally:
            await client.close()
        tmux(socket, "send-keys", "-t", "smoke", "q")  # nothing runs now: q quits at once
        deadline = time.monotonic() + 10
        while "smoke" in tmux(socket, "list-sessions"):
            assert time.monotonic() < deadline, "q did not quit"
            await asyncio.sleep(0.1)  # sleep: a poll's step (tmux has no change signal)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)


async def test_closing_the_terminal_loses_no_work(tmp_path: Path) -> None:
    """Losing the terminal (SIGHUP, as when an SSH connection drops) hands running jobs back, queued at a checkpoint.

    The kernel sends SIGCONT with the SIGHUP; Textual resumed its screen on it, on the dead terminal, and the
    event loop then blocked for good in a write (seen in CI: the job still running 15 s later).
    """
    await lose_the_terminal(tmp_path, told=True)


async def test_a_terminal_gone_without_a_signal_loses_no_work(tmp_path: Path) -> None:
    """The terminal gone while jobtui is told nothing (another session: no SIGHUP, no SIGCONT): same outcome.

    Its first failed write says the terminal is gone. Before, Textual's writer thread died on that write
    and 30 writes later the event loop blocked for good, the job still running.
    """
    await lose_the_terminal(tmp_path, told=False)


async def lose_the_terminal(tmp_path: Path, *, told: bool) -> None:
    """Open jobtui in tmux on a running job, kill tmux: the job must come back queued and jobtui exit."""
    db = tmp_path / "hup.db"
    client = await Client.open(db)
    try:
        job = await client.submit("demo", LONG)
    finally:
        await client.close()
    socket = f"jobtui-hup-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBTUI_", "TMUX"))}
    jobtui = f"{sys.executable} -m jobtui --db {db}"
    # In a session of its own jobtui has no controlling terminal: the hangup's signals go to `setsid -w`.
    command = [jobtui] if told else [f"setsid -w {jobtui}"]
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "smoke", "-x", "100", "-y", "30", *command],
                   check=True, env=env, timeout=10)
    pid = 0
    try:
        await screen_until(socket, "● running")
        pid = int(tmux(socket, "list-panes", "-t", "smoke", "-F", "#{pane_pid}").split()[0])
        if not told:
            pid = int(subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                                     timeout=10).stdout.split()[0])
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
    try:
        client = await Client.open(db)
        try:
            deadline = time.monotonic() + 15
            while (stored := await client.job(job)).status is not JobStatus.QUEUED:
                assert time.monotonic() < deadline, f"job is {stored.status.value}"
                await asyncio.sleep(0.1)  # sleep: a poll's step (tmux has no change signal)
            assert stored.lease_owner is None and stored.recovery_count == 0, "handed back cleanly, not recovered"
        finally:
            await client.close()
        deadline = time.monotonic() + 15
        while alive(pid):
            assert time.monotonic() < deadline, "jobtui outlived its terminal"
            await asyncio.sleep(0.1)  # sleep: a poll's step (tmux has no change signal)
    finally:
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
