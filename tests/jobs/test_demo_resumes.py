"""Issue 15, item 2: a resumed job that failed once can finish. `ctx.attempt` is the stage's run number,
counted across retries and resumes, so the demo's `fail_times` counts runs and a resume after them
completes the job; a dependency chain behind it is released. Real CLI, real runners, real SQLite."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from jobtui import Context, JobType, PermanentError, Retry, Stage
from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.jobs.demo import demo
from jobtui.model import JobStatus
from jobtui.seed import demo_submissions
from jobtui.store import Store
from tests.conftest import jobtui, make_client, run_idle, spawn_runner

pytestmark = pytest.mark.slow


def _run(db: Path) -> None:
    proc = spawn_runner(db, "--exit-when-idle")
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def _status(db: Path, job: str) -> str:
    return jobtui("show", job, "--json", db=db).stdout.split('"status": "', 1)[1].split('"', 1)[0]


def test_the_issue_demo_job_fails_once_then_resume_completes_it_and_releases_its_chain(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    fail = ("-p", "fail_stage=extracting", "-p", "fail_times=1", "-p", "fail_kind=permanent", "-p", "delay=0",
            "-p", "items=3")
    a = jobtui("submit", "demo", *fail, db=db).stdout.strip()
    b = jobtui("submit", "demo", "-p", "delay=0", "-p", "items=2", "--after", a, db=db).stdout.strip()
    c = jobtui("submit", "demo", "-p", "delay=0", "-p", "items=2", "--after", b, db=db).stdout.strip()
    _run(db)
    assert _status(db, a) == "failed" and "demo failure 1/1" in jobtui("show", a, db=db).stdout
    assert _status(db, c) == "blocked"

    assert jobtui("resume", a, db=db).returncode == 0
    _run(db)
    assert [_status(db, j) for j in (a, b, c)] == ["completed"] * 3, jobtui("show", a, db=db).stdout


async def test_attempt_counts_runs_across_resumes(store: Store) -> None:
    seen: list[int] = []

    async def flaky(ctx: Context) -> str:
        seen.append(ctx.attempt)
        if len(seen) < 3:
            raise PermanentError(f"run {ctx.attempt}")
        return "ok"

    client = make_client(store, JobType("flaky", [Stage(flaky, "flaky", Retry(retries=0))]))
    job = await client.submit("flaky")
    for _ in range(2):
        await run_idle(client)
        assert (await client.job(job)).status is JobStatus.FAILED
        await client.resume(job)
    await run_idle(client)
    d = await client.detail(job)
    assert d.job.status is JobStatus.COMPLETED
    assert seen == [1, 2, 3], "attempt restarted at 1 after each resume"
    assert d.stages[0].runs == 3


async def test_command_sees_its_attempt_across_resumes(client: Client, tmp_path: Path) -> None:
    log = tmp_path / "attempts"
    script = f'echo "$JOBTUI_ATTEMPT" >> {log}; [ "$JOBTUI_ATTEMPT" -ge 2 ]'
    job = await client.submit("command", {"stages": [{"name": "run", "run": script, "env": {}}]})
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.FAILED
    await client.resume(job)
    await run_idle(client)
    assert (await client.job(job)).status is JobStatus.COMPLETED
    assert log.read_text().split() == ["1", "2"]


async def test_every_demo_job_that_fails_can_be_resumed_to_completion(tmp_path: Path) -> None:
    """The demo's seeded jobs, without their delays: each one that fails or pauses completes after one resume."""
    quick = copy.copy(demo)
    quick.retry_delay_s = 0.01  # the seeded automatic retries, without their 10 s waits
    registry = default_registry()
    registry.add(quick)  # replaces the built-in demo type
    store = await Store.open(tmp_path / "demo.db")
    try:
        client = Client(store, registry)
        subs = [dataclasses.replace(s, params={**s.params, "delay": 0}, run_at_ms=None) for s in demo_submissions()]
        ids = await client.submit_many(subs)
        await run_idle(client, timeout=120)
        stuck = [j for j in ids if (await client.job(j)).status is not JobStatus.COMPLETED]
        assert len(stuck) == 3, "the demo shows a failure, a permanent failure after retries and an auto-pause"
        for j in stuck:
            await client.resume(j)
        await run_idle(client, timeout=120)
        left = {j: (await client.job(j)).error_message for j in ids if (await client.job(j)).status is not JobStatus.COMPLETED}
        assert left == {}, "every failed demo job completes after one resume"
    finally:
        await store.close()
