"""A deterministic database of demo jobs in every state, for the snapshot tests and the README screenshots.

Every timestamp comes from a stepped clock given to the Store, so the same build gives the same
screens. Finished jobs are run by a real Runner (one at a time); running and waiting jobs are left
exactly as a runner leaves them mid-flight, through the store's own runner-path calls. Log text that
holds wall-clock durations or random backoff ("done in 0.01s", "retrying in 0.1s") is normalised.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from jobtui.builtins import default_registry
from jobtui.client import Client
from jobtui.engine.runner import Runner
from jobtui.model import RunnerInfo, StageStatus
from jobtui.store import Store
from tests.clock import FakeClock

T0 = int(datetime(2025, 11, 25, 14, 3, 20, tzinfo=UTC).timestamp() * 1000)
"""The moment every screen is taken at."""
MIN = 60_000
RUNNER_ID = "build-7:4242:5e1f0a2c"


async def _run_one(client: Client, clock: FakeClock, at: int, params: dict, **options: object) -> int:
    clock.now = at
    job_id = await client.submit("demo", params, **options)
    runner = Runner(client.store, client.registry, concurrency=1, grace_s=1.0, runner_id="scenario")
    await runner.run(exit_when_idle=True)
    return job_id


async def build(path: Path) -> dict[str, int]:
    """Create the scenario database at `path`; return the ids of its notable jobs by role."""
    random.seed(20251125)
    clock = FakeClock(T0 - 40 * MIN)
    store = await Store.open(path, clock=clock)
    client = Client(store, default_registry(), source="cli")
    ids: dict[str, int] = {}
    try:
        ids["completed"] = await _run_one(client, clock, T0 - 40 * MIN, {"delay": 0, "items": 12, "seed": 1})
        ids["failed"] = await _run_one(
            client, clock, T0 - 31 * MIN,
            {"delay": 0, "items": 24, "fail_stage": "extracting", "fail_kind": "permanent", "seed": 3,
             "api_token": "demo-secret-token"},
        )
        ids["auto_paused"] = await _run_one(client, clock, T0 - 22 * MIN,
                                            {"delay": 0, "items": 30, "fail_items": 6, "seed": 5})
        ids["failed_items"] = await _run_one(client, clock, T0 - 15 * MIN,
                                             {"delay": 0, "items": 9, "fail_items": 2, "seed": 4})

        # Jobs a runner holds right now (it is mid-flight: stages started, progress reported).
        clock.now = T0 - 12 * MIN
        await store.register_runner(RunnerInfo(RUNNER_ID, 4242, "build-7", T0 - 12 * MIN, T0 - 12 * MIN, 4))
        running = await client.submit("demo", {"delay": 3, "items": 40, "seed": 2}, priority=5)
        embedding = await client.submit("demo", {"delay": 2, "items": 200, "seed": 7})
        flaky = await client.submit("demo", {"delay": 1, "items": 10, "fail_stage": "scraping", "fail_times": 99,
                                             "seed": 6}, max_retries=3)
        claimed = await store.claim(RUNNER_ID, 3, ["demo"])
        assert [c.job.job_id for c in claimed] == [running, embedding, flaky]
        stage_names = claimed[0].job.stage_names

        async def advance(job_id: int, upto: int, at: int, step_ms: int, items: int) -> None:
            for index in range(upto):
                clock.now = at + index * step_ms
                store.stage_started(job_id, index, 1, 4)
                store.log(job_id, "info", f"stage {stage_names[index]}: started")
                if stage_names[index] in ("downloading", "extracting", "creating_embeddings"):
                    store.stage_counters(job_id, index, items, items, 0)
                clock.now = at + index * step_ms + step_ms - 1000
                store.stage_finished(job_id, index, {"stage": stage_names[index]})
                store.log(job_id, "info", f"stage {stage_names[index]} done in {(step_ms - 1000) / 1000:.2f}s")
            clock.now = at + upto * step_ms
            store.stage_started(job_id, upto, 1, 4)
            await store.commit_point()

        await advance(running, 2, T0 - 11 * MIN, 4 * MIN, 40)
        clock.now = T0 - 2 * MIN
        store.progress(running, 4, 10, "uploading 4/10", 40, 0, 0)
        await advance(embedding, 5, T0 - 12 * MIN, 2 * MIN, 200)
        clock.now = T0 - 5_000
        store.stage_counters(embedding, 5, 200, 132, 0)
        store.progress(embedding, 132, 200, "132/200 items", 532, 0, 0)
        for n in range(120, 133):
            store.log(embedding, "info", f"item crea-{n:05d}: embedded 1536 dims in 38 ms")
        store.log(embedding, "warning", "rate limit: 429 Too Many Requests [retry-after: 2] (backing off)")

        clock.now = T0 - 9 * MIN
        store.stage_started(flaky, 0, 4, 4)
        error = "TransientError: demo failure 4/99 in scraping"
        for attempt in range(1, 5):
            store.attempt_failed(flaky, 0, attempt, error.replace("4/99", f"{attempt}/99"), True)
        store.stage_stopped(flaky, 0, StageStatus.FAILED, error)
        store.job_failed(flaky, RUNNER_ID, "scraping", error, retry_at_ms=T0 + 95_000)
        store.log(flaky, "error", f"job failed at stage scraping: {error}; automatic retry 1/3 in 95s")
        await store.commit_point()

        # Waiting, delayed, cancelled and paused jobs.
        clock.now = T0 - 3 * MIN
        ids["queued"] = await client.submit("demo", {"delay": 1, "items": 20, "seed": 8}, priority=2)
        await client.submit("demo", {"delay": 1, "items": 20, "seed": 9}, run_at_ms=T0 + 45_000)
        cancelled = await client.submit("demo", {"delay": 2, "items": 25, "seed": 10})
        paused = await client.submit("demo", {"delay": 2, "items": 25, "seed": 11})
        clock.now = T0 - 2 * MIN
        await client.cancel(cancelled)
        await client.pause(paused)
        clock.now = T0
        await store.heartbeat(RUNNER_ID)
        ids.update(running=running, embedding=embedding, waiting_retry=flaky, cancelled=cancelled, paused=paused)
    finally:
        await client.close()
    _normalise_logs(path)
    return ids


def _normalise_logs(path: Path) -> None:
    """Replace wall-clock durations and random backoffs in log text (the only non-deterministic text)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT log_id, message FROM logs").fetchall()
        for log_id, message in rows:
            fixed = re.sub(r"done in \d+\.\d+s", "done in 0.04s", message)
            fixed = re.sub(r"retrying in \d+\.\d+s", "retrying in 0.1s", fixed)
            if fixed != message:
                conn.execute("UPDATE logs SET message = ? WHERE log_id = ?", (fixed, log_id))
        conn.commit()
    finally:
        conn.close()


async def open_client(path: Path) -> Client:
    """Open the scenario database with its clock stopped at T0."""
    store = await Store.open(path, clock=lambda: T0)
    return Client(store, default_registry(), source="tui")


if __name__ == "__main__":  # pragma: no cover - a manual look: python tests/tui/scenario.py /tmp/s.db
    import sys

    print(asyncio.run(build(Path(sys.argv[1]))))
