"""Attach mode: no runner in the TUI; keys steer the jobs of a separate `jobtui run` process through the database."""

from __future__ import annotations

import subprocess

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus
from jobtui.tui.screens import ConfirmScreen
from tests.conftest import spawn_runner, stop_runner

from .conftest import LONG, select, shown, tui, wait_status, wait_until

S = JobStatus


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_attached_tui_steers_a_separate_runner(client: Client) -> None:
    job = await client.submit("demo", LONG)
    other = await client.submit("demo", LONG)
    runner = spawn_runner(client.db_path, "--concurrency", "2", "--quiet", stdout=subprocess.DEVNULL)
    try:
        async with tui(client) as (app, pilot):  # attached: no runner in this process
            assert not app.embedded and client.runner_state() is None
            await shown(app, pilot, job, S.RUNNING, timeout=20)
            await shown(app, pilot, other, S.RUNNING, timeout=20)
            assert f":{runner.pid}:" in (app.feed.jobs[job].lease_owner or "")
            await wait_until(pilot, lambda: f"pid {runner.pid}" in str(app.status_bar.render()), what="runner health")

            await select(app, pilot, job)
            await pilot.press("p")
            assert await wait_status(pilot, client, job, S.PAUSED) is S.PAUSED  # the other process paused it
            await shown(app, pilot, job, S.PAUSED)
            assert (await client.job(other)).status is S.RUNNING, "the other job never noticed"

            await pilot.press("r")
            assert await wait_status(pilot, client, job, S.RUNNING, timeout=15) is S.RUNNING
            assert (await client.job(job)).resume_count == 1

            await select(app, pilot, other)
            await pilot.press("c")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            assert await wait_status(pilot, client, other, S.CANCELLED) is S.CANCELLED
            await shown(app, pilot, other, S.CANCELLED)
    finally:
        err = stop_runner(runner, timeout=20)
    assert runner.returncode == 0, err
    assert (await client.job(job)).status is S.QUEUED, "SIGTERM hands the job back at its last checkpoint"


async def test_a_sigkilled_runner_is_gone_at_once_in_the_attached_tui(client: Client) -> None:
    """Issue 15, item 14: the attached TUI showed a SIGKILLed runner alive for 15-30 s while `jobtui runners`
    said gone at once; both now judge runners by one rule (fleet.health)."""
    import signal

    job = await client.submit("demo", LONG)
    runner = spawn_runner(client.db_path, "--quiet", stdout=subprocess.DEVNULL)
    try:
        async with tui(client) as (app, pilot):
            await shown(app, pilot, job, S.RUNNING, timeout=20)
            await wait_until(pilot, lambda: [r.pid for r in app.stats.runners] == [runner.pid], what="runner alive")
            stop_runner(runner, signal.SIGKILL)
            # Well inside the 30 s a heartbeat takes to age: the next stats read (every 2 s) says it.
            await wait_until(pilot, lambda: not app.stats.runners, timeout=8, what="the killed runner shown gone")
            assert [f.health.value for f in await client.fleet()] == ["gone"]
    finally:
        stop_runner(runner, signal.SIGKILL)
