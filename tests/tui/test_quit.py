"""Quitting with jobs running in the embedded runner: keep them in the background, pause them, or stop them."""

from __future__ import annotations

import signal
import subprocess

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus
from jobtui.tui.screens import QuitScreen
from tests.conftest import wait_for

from .conftest import LONG, demo, shown, tui, wait_until

S = JobStatus


async def test_q_quits_at_once_without_running_jobs(client: Client) -> None:
    await client.submit("demo", demo())
    await client.pause(1)
    async with tui(client, runner=True) as (app, pilot):
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, what="exit")
        assert app.return_code == 0


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_quit_dialog_escape_stays(client: Client) -> None:
    job = await client.submit("demo", LONG)
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, QuitScreen))
        assert app.return_code is None
        assert app.running_here() == [job]


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_quit_stop_hands_jobs_back_for_the_next_launch(client: Client) -> None:
    job = await client.submit("demo", LONG)
    async with tui(client, runner=True) as (app, pilot):
        await shown(app, pilot, job, S.RUNNING)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("s")
        await wait_until(pilot, lambda: app.return_code is not None, what="exit")
    stored = await client.job(job)
    assert stored.status is S.QUEUED and stored.lease_owner is None
    assert app.background is None


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_quit_pause_pauses_running_jobs(client: Client) -> None:
    jobs = [await client.submit("demo", LONG) for _ in range(2)]
    async with tui(client, runner=True) as (app, pilot):
        for job in jobs:
            await shown(app, pilot, job, S.RUNNING)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("p")
        await wait_until(pilot, lambda: app.return_code is not None, what="exit")
    for job in jobs:
        assert (await client.job(job)).status is S.PAUSED


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_quit_keep_hands_jobs_to_a_background_runner(client: Client) -> None:
    job = await client.submit("demo", LONG)
    process: subprocess.Popen[bytes] | None = None
    try:
        async with tui(client, runner=True) as (app, pilot):
            await shown(app, pilot, job, S.RUNNING)
            embedded = (await client.job(job)).lease_owner
            await pilot.press("q")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitScreen))
            await pilot.press("k")
            await wait_until(pilot, lambda: app.return_code is not None, what="exit")
        assert app.background is not None
        process = app.background.process
        assert app.background.log == client.db_path.parent / "t.runner.log"
        async def taken_over() -> bool:
            stored = await client.job(job)
            return stored.status is S.RUNNING and stored.lease_owner not in (None, embedded)

        await wait_for(taken_over, timeout=20, what="the background runner took the job")
        stored = await client.job(job)
        assert f":{process.pid}:" in (stored.lease_owner or "")
        assert stored.recovery_count == 0, "handed over, not recovered from a crash"
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    assert (await client.job(job)).status is S.QUEUED, "the background runner handed it back on SIGTERM"
