"""Issue 8, the seeds' partial items: consecutive failures and the request history in `show`, `ls`
filters by unique key and stage, `submit --timeout`, `jobtui fail`, `run --exit-when-idle` with jobs
scheduled later, and `--at` in the past or future."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from jobtui import Context, JobType, Runner
from jobtui.model import JobStatus, StageStatus
from jobtui.store import Store
from tests.conftest import jobtui, make_client, wait_for


def ok(*args: str, db: Path) -> str:
    r = jobtui(*args, db=db)
    assert r.returncode == 0, r.stderr
    return r.stdout


async def test_fail_stops_a_running_job_at_once_and_ends_it_failed_with_the_reason(store: Store) -> None:
    started = asyncio.Event()
    finished: list[int] = []

    async def endless(ctx: Context) -> None:
        started.set()
        await asyncio.Event().wait()  # never reaches a safe point: only an interruption ends it
        finished.append(1)

    client = make_client(store, JobType("endless", [endless]))
    client.source = "admin-test"
    job_id = await client.submit("endless")
    queued = await client.submit("endless", run_at_ms=client.store.clock() + 3_600_000)
    runner = Runner(client.store, client.registry, concurrency=1, grace_s=30)
    client.runner = runner
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(started.wait(), 10)
        r = await client.fail(job_id, "disk quota exceeded")
        assert (r.before, r.after) == (JobStatus.RUNNING, JobStatus.FAILED)
        await wait_for(lambda: job_id not in runner.runs, timeout=5)
        q = await client.fail(queued, "not needed")
        assert (q.before, q.after) == (JobStatus.QUEUED, JobStatus.FAILED)
    finally:
        runner.stop()
        await task
    d = await client.detail(job_id)
    assert d.job.status is JobStatus.FAILED and finished == []
    assert d.job.error_message == "failed by admin-test: disk quota exceeded" and d.job.failed_step == "endless"
    assert d.stages[0].status is StageStatus.FAILED
    last = (await client.history(job_id))[-1]
    assert (last.action, last.from_status, last.to_status, last.source, last.detail) == (
        "fail", "running", "failed", "admin-test", "disk quota exceeded")
    assert (await client.job(queued)).status is JobStatus.FAILED


@pytest.mark.slow
def test_show_ls_submit_fail_and_exit_when_idle_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    a = ok("submit", "demo", "-p", "delay=0", "-p", "items=2", "--unique-key", "k1", "--timeout", "90s", db=db).strip()
    later = ok("submit", "demo", "-p", "delay=0", "--at", "+1h", db=db).strip()
    past = jobtui("submit", "demo", "-p", "delay=0", "--at", "2001-01-01T00:00", db=db)
    warnings = [ln for ln in past.stderr.splitlines() if "no runner is running" not in ln]
    assert past.returncode == 0 and len(warnings) == 1 and "in the past" in warnings[0], past.stderr
    assert json.loads(ok("show", past.stdout.strip(), "--json", db=db))["run_at"] is None

    assert [j["job_id"] for j in json.loads(ok("ls", "--unique-key", "k1", "--json", db=db))] == [int(a)]
    assert ok("ls", "--unique-key", "nope", db=db).strip() == "no jobs"
    assert len(json.loads(ok("ls", "--stage", "scraping", "--json", db=db))) == 3
    assert ok("ls", "--stage", "saving", db=db).strip() == "no jobs"
    listing = ok("ls", db=db)
    row = next(line for line in listing.splitlines() if line.startswith(later + " "))
    assert "starts in 59m" in row or "starts in 1h" in row, row

    detail = json.loads(ok("show", a, "--json", db=db))
    assert detail["timeout_s"] == 90 and detail["consecutive_failures"] == 0
    assert "consecutive item failures 0" in ok("show", a, db=db)

    ok("pause", a, db=db)
    ok("resume", a, db=db)
    ok("fail", later, "--reason", "no longer wanted", db=db)
    r = jobtui("fail", a, "--reason", "   ", db=db)
    assert r.returncode == 2 and "--reason" in r.stderr
    history = json.loads(ok("show", a, "--json", db=db))["history"]
    assert [(h["action"], h["source"]) for h in history] == [("submit", "cli"), ("pause", "cli"), ("resume", "cli")]
    assert all(h["at"] for h in history)
    text = ok("show", a, db=db)
    assert "pause    queued → paused  by cli" in text and "resume   paused → queued  by cli" in text
    failed = json.loads(ok("show", later, "--json", db=db))
    assert failed["status"] == "failed" and failed["error_message"] == "failed by cli: no longer wanted"
    assert "fail     queued → failed  by cli  (no longer wanted)" in ok("show", later, db=db)

    ok("submit", "demo", "-p", "delay=0", "-p", "items=1", "--at", "+2h", db=db)
    r = jobtui("run", "--exit-when-idle", "--quiet", db=db, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "1 job(s) scheduled later" in r.stderr and "start in 1h59m" in r.stderr, r.stderr
    assert json.loads(ok("show", a, "--json", db=db))["status"] == "completed"
