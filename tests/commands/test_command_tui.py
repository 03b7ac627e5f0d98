"""The TUI's detail pane for command jobs: command line, working folder, exit code, frozen."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus
from tests.commands.helpers import running, spec
from tests.conftest import run_idle, wait_for
from tests.tui.conftest import select, tui, wait_until

pytestmark = pytest.mark.slow


async def test_detail_shows_command_cwd_exit_code_and_frozen(client: Client, tmp_path: Path) -> None:
    done = await client.submit("command", {"stages": [spec(["sh", "-c", "exit 3"], cwd=str(tmp_path))]})
    await run_idle(client)
    gate = tmp_path / "gate"
    held = await client.submit("command", {"stages": [spec(f"while [ ! -e {gate} ]; do sleep 0.05; done")]})
    async with running(client):
        await wait_for(lambda: _running_process(client, held), timeout=15)
        await client.pause(held)
        await wait_for(lambda: _status(client, held, JobStatus.PAUSED), timeout=15)
        runner, client.runner = client.runner, None  # the TUI watches; the runner stays this test's
        async with tui(client) as (app, pilot):
            await select(app, pilot, done)
            text = app.detail.text
            assert "command    sh -c 'exit 3'" in text
            assert "cwd        /tmp/" in text and "exit code 3" in text
            await select(app, pilot, held)
            await wait_until(pilot, lambda: "frozen (SIGSTOP)" in app.detail.text, what="frozen shown")
        client.runner = runner
        gate.touch()
        await client.resume(held)
        await wait_for(lambda: _status(client, held, JobStatus.COMPLETED), timeout=15)


async def _status(client: Client, job: int, want: JobStatus) -> bool:
    return (await client.job(job)).status is want


async def _running_process(client: Client, job: int) -> bool:
    return any(p.alive for p in (await client.detail(job)).processes)
