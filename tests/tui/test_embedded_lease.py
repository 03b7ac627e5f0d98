"""Issue 14, item 3: with the runner inside the TUI, a busy UI stopped its heartbeat (the runner turned stale in
10 s, and another runner would have taken its jobs while they still ran here).

The lease is renewed from a thread of its own (engine/lease_keeper.py); a real second runner process, with
the same short lease, watches for a lapse while the app's event loop is blocked.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from jobtui.client import Client
from jobtui.model import JobStatus
from tests.conftest import spawn_runner, stop_runner

from .conftest import LONG, shown, tui, wait_until

TTL_S = 1.5
"""Both runners' lease: the embedded runner is taken for dead after 1.5 s without a heartbeat."""
BUSY_S = 4 * TTL_S
"""How long the UI keeps the event loop (a frame that takes seconds to draw)."""


def _busy_ui(db: Path, runner_id: str, seconds: float) -> list[int]:
    """Keep this thread's event loop busy for `seconds`; return the ages (ms) of the runner's heartbeat seen meanwhile."""
    con = sqlite3.connect(db, timeout=5)
    ages = []
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            row = con.execute("SELECT heartbeat_at_ms FROM runners WHERE runner_id = ?", (runner_id,)).fetchone()
            ages.append(int(time.time() * 1000) - row[0] if row else 10**9)
            time.sleep(0.05)  # sleep: the UI "drawing" holds the loop; this only paces the reads
    finally:
        con.close()
    return ages


def _job(db: Path, job_id: int) -> tuple[str, int, str | None]:
    con = sqlite3.connect(db, timeout=5)
    try:
        row = con.execute("SELECT status, recovery_count, lease_owner FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return row[0], row[1], row[2]
    finally:
        con.close()


def _runners(db: Path) -> int:
    con = sqlite3.connect(db, timeout=5)
    try:
        return int(con.execute("SELECT count(*) FROM runners").fetchone()[0])
    finally:
        con.close()


@pytest.mark.slow  # several seconds under load (a parallel run timed it out at 10 s)
async def test_embedded_runner_keeps_its_lease_while_the_ui_is_busy(client: Client) -> None:
    db = client.db_path
    job = await client.submit("demo", LONG)
    runner = await client.embedded_runner(concurrency=2, grace_s=2.0, lease_ttl_s=TTL_S)
    other: subprocess.Popen[str] | None = None
    async with tui(client) as (app, pilot):
        try:
            await shown(app, pilot, job, JobStatus.RUNNING)
            other = spawn_runner(db, "--lease-ttl", str(TTL_S), "--concurrency", "1")
            await wait_until(pilot, lambda: _runners(db) == 2, 20, "the second runner registered")
            ages = _busy_ui(db, runner.runner_id, BUSY_S)
            assert max(ages) < TTL_S * 1000, f"heartbeat {max(ages)} ms old while the UI was busy"
            status, recoveries, owner = _job(db, job)
            assert (status, recoveries, owner) == ("running", 0, runner.runner_id), "no other runner took the job"
            await pilot.press("p")  # and the app answers again at once: the job pauses at its next safe point
            await wait_until(pilot, lambda: _job(db, job)[0] == "paused", 10, "the job paused")
        finally:
            if other is not None:
                stop_runner(other)
