"""Issue 8: attempts are not spent by pause or crash recovery; a stage's output and an unexpected
exception's traceback are visible (`show`, `show --json`, `logs`, `export --stages`)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest

from jobtui import Context, JobType, Retry, Runner, Stage
from jobtui.model import JobStatus, StageStatus
from jobtui.store import Store
from tests.conftest import jobtui, make_client, wait_for

FAST = Retry(retries=3, base_s=0.01, cap_s=0.02)


async def _status(client: Any, job_id: int, status: JobStatus) -> bool:
    return (await client.job(job_id)).status is status


async def test_pause_and_resume_do_not_spend_an_attempt(store: Store) -> None:
    """`try 1/4` stays 1/4 after pause/resume (it was 2/5); the stage shows 2 runs and 0 failures."""
    gate = asyncio.Event()
    starts = 0

    async def long(ctx: Context) -> int:
        nonlocal starts
        starts += 1
        if starts == 1:
            await ctx.checkpoint({"n": 1})
            gate.set()
            await ctx.sleep(60)  # sleep: a stage that runs until a pause wakes it
        return starts

    client = make_client(store, JobType("long", [Stage(long, retry=FAST)]))
    job_id = await client.submit("long")
    runner = Runner(client.store, client.registry)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(gate.wait(), 10)
        await client.pause(job_id)
        await wait_for(lambda: _status(client, job_id, JobStatus.PAUSED))
        s = (await client.detail(job_id)).stages[0]
        assert (s.attempts, s.max_attempts, s.runs, s.failures) == (1, 4, 1, 0)
        await client.resume(job_id)
        await wait_for(lambda: _status(client, job_id, JobStatus.COMPLETED))
    finally:
        runner.stop()
        await task
    s = (await client.detail(job_id)).stages[0]
    assert (s.attempts, s.max_attempts, s.runs, s.failures) == (1, 4, 2, 0)
    assert await client.attempt_errors(job_id) == []


@pytest.mark.slow  # several seconds under load (pytest --durations)
async def test_crash_recovery_does_not_spend_an_attempt(db_path: Path) -> None:
    """A 5-retry stage that failed once and then lost its runner shows `2/6` after recovery, not `3/7`."""
    calls = 0
    gate = asyncio.Event()

    async def flaky(ctx: Context) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionResetError("reset")
        if calls == 2:
            gate.set()
            await asyncio.Event().wait()  # never reaches a safe point: only an interruption ends it
        return "ok"

    job_type = JobType("flaky", [Stage(flaky, retry=Retry(retries=5, base_s=0.01, cap_s=0.02))])
    store = await Store.open(db_path)
    client = make_client(store, job_type)
    job_id = await client.submit("flaky")
    runner = Runner(client.store, client.registry, runner_id="doomed")
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(gate.wait(), 10)
    await store.commit_point()
    # The runner "dies": its task goes without a word and the database still says it holds the job.
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await store.close()
    con = sqlite3.connect(db_path)
    with con:
        con.execute("UPDATE jobs SET status = 'running', lease_owner = 'doomed' WHERE job_id = ?", (job_id,))
        con.execute("UPDATE stages SET status = 'running', attempts = 2, runs = 2, failures = 1 WHERE job_id = ?",
                    (job_id,))
        con.execute("DELETE FROM runners")
    con.close()

    store = await Store.open(db_path)
    try:
        client = make_client(store, job_type)
        runner = Runner(client.store, client.registry)
        await asyncio.wait_for(runner.run(exit_when_idle=True), 30)
        d = await client.detail(job_id)
        assert d.job.status is JobStatus.COMPLETED and d.job.recovery_count == 1
        s = d.stages[0]
        assert (s.attempts, s.max_attempts, s.runs, s.failures) == (2, 6, 3, 1)
        assert [e.attempt for e in await client.attempt_errors(job_id)] == [1]
    finally:
        await store.close()


async def test_a_failed_stage_resumed_by_a_person_gets_a_fresh_budget(store: Store) -> None:
    calls = 0

    async def bad(ctx: Context) -> str:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise ConnectionResetError("down")
        return "ok"

    client = make_client(store, JobType("bad", [Stage(bad, retry=Retry(retries=1, base_s=0.01, cap_s=0.02))]))
    job_id = await client.submit("bad")
    await asyncio.wait_for(Runner(client.store, client.registry).run(exit_when_idle=True), 30)
    s = (await client.detail(job_id)).stages[0]
    assert s.status is StageStatus.FAILED and (s.attempts, s.max_attempts, s.failures) == (2, 2, 2)
    await client.resume(job_id)
    await asyncio.wait_for(Runner(client.store, client.registry).run(exit_when_idle=True), 30)
    s = (await client.detail(job_id)).stages[0]
    assert s.status is StageStatus.COMPLETED and (s.attempts, s.runs, s.failures) == (1, 3, 0)
    assert [e.attempt for e in await client.attempt_errors(job_id)] == [1, 2], "the history keeps both failures"


BUGGY = '''
from jobtui import JobType

async def prepare(ctx):
    return {"pages": 3, "names": ["a.pdf", "b.pdf"], "api_key": "sekret-value-123"}

def helper(ctx):
    return undefined_name + 1     # the bug

async def crunch(ctx):
    return helper(ctx)

buggy = JobType("buggy", [prepare, crunch])
'''


@pytest.mark.slow
def test_output_and_traceback_are_shown_by_show_logs_and_export(tmp_path: Path) -> None:
    (tmp_path / "buggyapp.py").write_text(textwrap.dedent(BUGGY))
    db = tmp_path / "b.db"
    env = {"PYTHONPATH": str(tmp_path)}
    assert jobtui("--app", "buggyapp", "submit", "buggy", db=db, **env).returncode == 0
    r = jobtui("--app", "buggyapp", "run", "--exit-when-idle", "--quiet", db=db, **env)
    assert r.returncode == 0, r.stderr

    show = jobtui("--app", "buggyapp", "show", "1", db=db, **env)
    assert show.returncode == 0, show.stderr
    assert "NameError: name 'undefined_name' is not defined" in show.stdout
    assert 'buggyapp.py", line 8, in helper' in show.stdout, show.stdout
    assert '"pages": 3' in show.stdout and "sekret-value-123" not in show.stdout

    detail = json.loads(jobtui("--app", "buggyapp", "show", "1", "--json", db=db, **env).stdout)
    first, second = detail["stages"]
    assert first["output"] == {"pages": 3, "names": ["a.pdf", "b.pdf"], "api_key": "***"}
    assert first["runs"] == 1 and first["failures"] == 0
    assert 'buggyapp.py", line 8, in helper' in second["traceback"] and second["failures"] == 1

    logs = jobtui("--app", "buggyapp", "logs", "1", db=db, **env).stdout
    assert 'buggyapp.py", line 8, in helper' in logs

    lines = jobtui("--app", "buggyapp", "export", "1", "--stages", db=db, **env).stdout.splitlines()
    assert [json.loads(x)["stage"] for x in lines] == ["prepare"]
    assert json.loads(lines[0])["output"]["names"] == ["a.pdf", "b.pdf"]
