"""`--notify-on started` for a job a runner claims at once: the notifier's look at the job events begins before the
runner's first claim (engine/duties.py), not at its own task's first round, which a quick claim could pass (the
job's start was then never told; tests/unattended/test_notify_on.py lost it once claims committed in one call)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from jobtui import Runner
from jobtui.model import JobStatus
from jobtui.store import Store
from tests.conftest import make_client, wait_for


async def test_a_job_claimed_at_once_is_told_started(store: Store, db_path: Path) -> None:
    client = make_client(store)
    job = await client.submit("demo", {"items": 1, "delay": 0}, notify=(("cmd", "true"),), notify_on=("started",))
    real = store.last_job_event

    async def after_the_claim() -> int:
        # The notifier's first read of the job events comes after the job started (or 2 s, should nothing start).
        async def running() -> bool:
            return (await store.get_job(job)).status is not JobStatus.QUEUED

        try:
            await wait_for(running, timeout=2)
        except AssertionError:
            pass
        return await real()

    store.last_job_event = after_the_claim  # type: ignore[method-assign]
    runner = Runner(store, client.registry, concurrency=1, poll_s=0.05)
    await asyncio.wait_for(runner.run(exit_when_idle=True), 60)
    con = sqlite3.connect(db_path)
    try:
        events = [r[0] for r in con.execute("SELECT event FROM notifications WHERE job_id = ?", (job,))]
    finally:
        con.close()
    assert "started" in events, events
