"""Issue 19, item 6: relaunching `jobtui` while the background runner the quit dialog left works on the database
attaches to it instead of starting a second runner in the TUI (real processes: jobtui in tmux, `jobtui run`)."""

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
from tests.conftest import wait_for

from .conftest import LONG
from .test_smoke_tmux import alive, screen_until, tmux

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, timeout=10).stdout
    return [int(x) for x in out.split()]


async def _session_gone(socket: str) -> None:
    deadline = time.monotonic() + 15
    while "smoke" in tmux(socket, "list-sessions"):
        assert time.monotonic() < deadline, "jobtui did not quit"
        await asyncio.sleep(0.1)  # sleep: a poll's step (tmux has no change signal)


async def test_relaunch_attaches_to_the_background_runner_left_by_quit(tmp_path: Path) -> None:
    db = tmp_path / "relaunch.db"
    client = await Client.open(db)
    job = await client.submit("demo", LONG)
    socket = f"jobtui-relaunch-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBTUI_", "TMUX"))}
    command = f"{sys.executable} -m jobtui --db {db}"
    background = 0
    try:
        # First launch: the job runs in the TUI's own runner; quit, keeping it running in the background.
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "smoke", "-x", "120", "-y", "30", command],
                       check=True, env=env, timeout=10)
        await screen_until(socket, "● running")
        assert "runner ● here" in await screen_until(socket, f"Job {job} · demo")
        tmux(socket, "send-keys", "-t", "smoke", "q")
        await screen_until(socket, "Keep them running in the background")
        tmux(socket, "send-keys", "-t", "smoke", "k")
        await _session_gone(socket)

        async def taken_over() -> bool:
            runners = await client.live_runners()
            stored = await client.job(job)
            return (len(runners) == 1 and "jobtui run" in _cmdline(runners[0].pid) and stored.status is JobStatus.RUNNING
                    and f":{runners[0].pid}:" in (stored.lease_owner or ""))

        await wait_for(taken_over, timeout=30, what="the background runner took the job over")
        background = (await client.live_runners())[0].pid

        # Second launch: it attaches to that runner; no second runner is registered.
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "smoke", "-x", "120", "-y", "30", command],
                       check=True, env=env, timeout=10)
        screen = await screen_until(socket, f"pid {background}")
        assert "runner ● here" not in screen, screen
        await screen_until(socket, "Attached")  # the toast that says so
        tui_pid = int(tmux(socket, "list-panes", "-t", "smoke", "-F", "#{pane_pid}").split()[0])
        await screen_until(socket, "● running")
        assert [r.pid for r in await client.live_runners()] == [background], "a second runner was started"
        registered = [r.info.pid for r in await client.fleet()]
        assert background in registered and not {tui_pid, *_children(tui_pid)} & set(registered), registered
        tmux(socket, "send-keys", "-t", "smoke", "q")  # no runner in this window: q quits at once
        await _session_gone(socket)
        assert (await client.job(job)).status is JobStatus.RUNNING, "the background runner keeps running it"
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
        if background and alive(background):
            os.kill(background, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while alive(background) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)  # sleep: a poll's step (waiting for the runner to exit)
            if alive(background):
                os.kill(background, signal.SIGKILL)
        await client.close()
