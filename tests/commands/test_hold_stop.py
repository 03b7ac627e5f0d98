"""A runner stopped just as a pause of a running command commits lets go of the held (frozen) job."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jobtui.client import Client
from jobtui.model import JobStatus
from tests.commands.helpers import mark, procs_with, running, spec
from tests.conftest import after_commit, wait_for


async def test_a_stop_right_after_the_pause_commits_lets_go_of_the_held_job(client: Client) -> None:
    """The stage marked itself held only once the pause's commit returned to it: a stop in between (CI at load 25:
    the test saw `paused` and stopped the runner first) handed it back as a running job, a write its status refuses,
    and the job stayed paused and held by a runner that was gone."""
    m = mark()
    job = await client.submit("command", {"stages": [spec("sleep 60", env={"TESTMARK": m}, kill_grace_s=1)]})
    async with running(client) as runner:
        await wait_for(lambda: len(procs_with(m)) >= 1, timeout=15, what="the command runs")

        async def stop() -> None:
            if not runner.stopping and (await client.job(job)).status is JobStatus.PAUSED:
                runner.stop(force=True)  # the stop lands while the holding stage still waits on this commit
                await asyncio.sleep(0)  # sleep: one turn, where the stop's cancel reaches this await

        with after_commit(client.store, stop):
            await client.pause(job)
            await wait_for(lambda: runner.stopping, what="the runner stopped once the pause committed")
    after = await client.job(job)
    assert after.status is JobStatus.PAUSED and not after.held and after.lease_owner is None, after
    assert procs_with(m) == []


async def test_a_resume_claimed_before_the_holding_stage_wakes_continues_that_stage(client: Client, tmp_path: Path) -> None:
    """The stage joined the runner's held jobs only once the pause's commit returned to it: a resume claimed in
    between (CI at load 25) started the stage again beside the frozen one (`start` twice)."""
    out = tmp_path / "out"
    script = f"echo start >> {out}; i=0; while [ $i -lt 50 ]; do i=$((i+1)); sleep 0.02; done; echo end >> {out}"
    job = await client.submit("command", {"stages": [spec(script)]})
    resumed = False

    async def resume() -> None:
        nonlocal resumed
        if not resumed and (await client.job(job)).status is JobStatus.PAUSED:
            resumed = True
            await client.resume(job)  # claimed again by the runner's loop while the holding stage waits here
            await wait_for(lambda: _running(client, job), what="the resume claimed")

    async with running(client):
        await wait_for(lambda: out.exists() and out.read_text().startswith("start"), what="the command started")
        with after_commit(client.store, resume):
            await client.pause(job)
            await wait_for(lambda: _completed(client, job), timeout=30, what="the job completed")
    assert out.read_text().split() == ["start", "end"]


async def _running(client: Client, job: int) -> bool:
    return (await client.job(job)).status is JobStatus.RUNNING


async def _completed(client: Client, job: int) -> bool:
    return (await client.job(job)).status is JobStatus.COMPLETED
